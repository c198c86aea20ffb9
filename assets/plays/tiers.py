"""Value tiers and sales routing per company, from its reporting-currency MRR.

`value_tier` is the highest tier whose `min_mrr` the account reaches (none below the lowest);
`acv` is 12 x reporting MRR; `route_to_sales` is `acv >= acv_route_threshold`. An account with no
reporting MRR (no exchange rate) gets none of the three.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.plays.model import Plays


def tier_columns(companies: pd.DataFrame, plays: Plays) -> pd.DataFrame:
    """`company_id`, `value_tier`, `acv`, `route_to_sales`, one row per company."""
    mrr = companies["account_reporting_mrr"].astype("Float64")
    known = mrr.notna().to_numpy()
    tier = pd.Series(pd.NA, index=companies.index, dtype="string")
    for t in plays.tiers:  # ascending: a higher tier overwrites a lower one
        tier[known & (mrr.fillna(-np.inf) >= t.min_mrr).to_numpy()] = t.name
    acv = (mrr * 12).round(2)
    route = (acv >= plays.acv_route_threshold).astype("boolean").where(mrr.notna())
    return pd.DataFrame(
        {"company_id": companies["company_id"], "value_tier": tier, "acv": acv, "route_to_sales": route}
    )
