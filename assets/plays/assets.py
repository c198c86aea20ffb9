"""Plays: segment membership with holdouts and cooldowns, its history, and the measured lift.

The plays file (plays.yaml, docs/plays.md) is validated when the Definitions load; the assets here
and the push's catalog take it from `configured_plays`, which parses each version of the file once.
`segment_membership` decides today's entries and exits; `membership_history` records them (the push
waits for it); `play_results` measures each play against its holdout.
"""

from datetime import timedelta

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.metadata import preview
from assets.plays.history import MembershipHistory
from assets.plays.load import PlaysFileError, configured_plays
from assets.plays.model import Plays
from assets.plays.results import demo_summary
from assets.plays.results import play_results as measure_plays
from assets.plays.update import MembershipUpdate, changes_table, evaluation_frames, plan_plays
from assets.revenue.history_store import MrrHistory
from assets.revenue.money import currency_exponent
from resources.settings import SyncSettings
from resources.state import StateStoreResource

GROUP = "plays"
OWNERS = ["team:growth"]
CHANGES_ROWS = 500


class PlaysConfig(dg.Config):
    dry_run: bool = Field(default=False, description="Evaluate and list who would enter and leave; record nothing.")


class PlayResultsConfig(PlaysConfig):
    lookback_days: int = Field(default=90, ge=1, le=730, description="Measure members who entered in these days.")


def _plays(settings: SyncSettings) -> Plays:
    try:
        return configured_plays(settings.plays_file, settings.usage_metrics)
    except PlaysFileError as exc:
        raise dg.Failure(description=str(exc)) from exc


@dg.asset(group_name=GROUP, kinds={"pandas"}, owners=OWNERS)
def segment_membership(
    config: PlaysConfig,
    contact_attributes: pd.DataFrame,
    company_attributes: pd.DataFrame,
    settings: SyncSettings,
    state: StateStoreResource,
) -> dg.MaterializeResult[MembershipUpdate]:
    """Who is in each segment of the plays file today, in treatment or holdout, and who enters or leaves.

    Entry respects cooldowns and goal suppression against the stored history; nothing is recorded
    here (see `membership_history`), so a dry run lists the changes without making them.
    """
    plays = _plays(settings)
    history = MembershipHistory(state.store)
    frames = evaluation_frames(contact_attributes, company_attributes, plays)
    stints = history.load_stints([s.name for s in plays.segments])
    update = plan_plays(plays, frames, stints, settings.now().date())
    sizes = {c.segment: c.sizes() for c in update.changes}
    numeric = {f"{name}_{k}": v for name, counts in sizes.items() for k, v in counts.items()}
    changes = changes_table(update.changes, CHANGES_ROWS)
    return dg.MaterializeResult(
        value=update,
        metadata={
            **numeric,  # numeric entries: the UI plots each over runs
            "plays_file": plays.source,
            "dry_run": config.dry_run,
            "segment_sizes": dg.MetadataValue.json({name: counts["members"] for name, counts in sizes.items()}),
            "rules": dg.MetadataValue.md(
                "\n".join(f"- **{s.title}** (`{s.name}`, {s.model}): {s.when.describe()}" for s in plays.segments)
            ),
            "entering_and_leaving": dg.MetadataValue.md(
                changes.to_markdown(index=False) if len(changes) else "_nobody enters or leaves_"
            ),
        },
    )


@dg.asset(group_name=GROUP, kinds={"sql"}, owners=OWNERS)
def membership_history(
    config: PlaysConfig, segment_membership: MembershipUpdate, state: StateStoreResource
) -> dg.MaterializeResult:
    """Entered, exited and converted stints per key and segment, and a daily size record per segment,
    in the state store (`play_stints`, `play_daily`). Written in one transaction; a re-run the same
    day records nothing new."""
    history = MembershipHistory(state.store)
    if not config.dry_run:
        history.record(segment_membership.changes, segment_membership.day)
    recorded = {
        f"{c.segment}_{what}": 0 if config.dry_run else n
        for c in segment_membership.changes
        for what, n in (("entered", len(c.entered)), ("exited", len(c.exited)), ("converted", len(c.converted)))
    }
    return dg.MaterializeResult(metadata={**recorded, "dry_run": config.dry_run, "day": str(segment_membership.day)})


@dg.asset(group_name=GROUP, kinds={"pandas", "sql"}, owners=OWNERS, deps=[membership_history])
def play_results(
    config: PlayResultsConfig,
    contact_attributes: pd.DataFrame,
    settings: SyncSettings,
    state: StateStoreResource,
) -> dg.MaterializeResult[pd.DataFrame]:
    """Per segment with a holdout: treatment against control for the members who entered in the last
    `lookback_days` days — conversions within the goal window, absolute and relative lift with its
    95 % interval and p-value (statsmodels), incremental MRR per member and a plain verdict.
    Stored in `play_results` (one row per segment and day)."""
    plays = _plays(settings)
    history = MembershipHistory(state.store)
    today = settings.now().date()
    stints = history.load_stints([s.name for s in plays.segments])
    daily = MrrHistory(state.store).days(today - timedelta(days=config.lookback_days), today)
    account_mrr = daily.groupby(["account_id", "day"])["reporting_mrr_minor"].sum(min_count=1).reset_index()
    account_of = contact_attributes.set_index("external_id")["company_id"]
    minor = 10 ** currency_exponent(settings.reporting_currency)
    results = measure_plays(plays, stints, account_of, account_mrr, today, config.lookback_days, minor)
    if not config.dry_run:
        history.replace_results(today, results)
    shown = results[["segment", "treatment_n", "control_n", "treatment_rate", "control_rate", "lift_pct_points",
                     "ci95_low", "ci95_high", "p_value", "incremental_mrr_per_member", "verdict"]]  # fmt: skip
    lifts = {
        f"{r['segment']}_lift_pct_points": float(r["lift_pct_points"])
        for r in results.to_dict("records")
        if not pd.isna(r["lift_pct_points"])
    }
    return dg.MaterializeResult(
        value=results,
        metadata={
            **lifts,
            "dagster/row_count": len(results),
            "plays": dg.MetadataValue.json(demo_summary(results)),
            "results": dg.MetadataValue.md(
                shown.to_markdown(index=False, floatfmt=".4g") if len(shown) else "_no segment has a holdout_"
            ),
            "preview": preview(results),
        },
    )
