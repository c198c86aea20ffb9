"""Measured lift of a play: treatment against holdout, with statsmodels doing the statistics.

For the members who entered in the lookback window, per group: n, conversions within the goal
window, and the conversion rate. The absolute lift is the difference of rates (treatment minus
control), with a 95 % Wald interval (`confint_proportions_2indep`) and a two-sided z-test p-value
(`proportions_ztest`). When the test is not significant and the groups are smaller than needed to
detect a 5-point effect with 80 % power (`NormalIndPower`), the verdict says how many are needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# statsmodels (and the scipy it loads) is imported where the lift is measured, not with the
# module: it is a third of the definitions' import time, which every code server and run worker
# would pay, and only the plays' results step uses it.

ALPHA = 0.05
POWER = 0.8
DETECTABLE_EFFECT = 0.05  # five percentage points


@dataclass(frozen=True)
class Lift:
    treatment_n: int
    treatment_conversions: int
    control_n: int
    control_conversions: int
    treatment_rate: float | None
    control_rate: float | None
    lift_pct_points: float | None  # absolute lift, percentage points
    relative_lift: float | None  # lift / control rate
    ci95: tuple[float, float] | None  # of the absolute lift, percentage points
    p_value: float | None
    verdict: str


def _rate(conversions: int, n: int) -> float | None:
    return conversions / n if n else None


def needed_per_group(control_rate: float) -> int:
    """Members per group to detect a 5-point rise from `control_rate` (two-sided, alpha 0.05, 80 % power)."""
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    base = min(max(control_rate, 0.001), 1 - DETECTABLE_EFFECT - 0.001)
    effect = abs(proportion_effectsize(base + DETECTABLE_EFFECT, base))
    return math.ceil(NormalIndPower().solve_power(effect_size=effect, alpha=ALPHA, power=POWER, ratio=1.0))


def measure_lift(treatment_n: int, treatment_conversions: int, control_n: int, control_conversions: int) -> Lift:
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    rt, rc = _rate(treatment_conversions, treatment_n), _rate(control_conversions, control_n)
    if rt is None or rc is None:
        need = needed_per_group(rc if rc is not None else (rt or 0.1))
        return Lift(treatment_n, treatment_conversions, control_n, control_conversions, rt, rc, None, None, None, None,
                    f"too few members: need ≈ {need} per group for a 5-point effect")  # fmt: skip
    diff = rt - rc
    total = treatment_conversions + control_conversions
    if 0 < total < treatment_n + control_n:
        _, p = proportions_ztest([treatment_conversions, control_conversions], [treatment_n, control_n])
        p_value: float | None = float(p)
    else:  # nobody or everybody converted: no variance, no test
        p_value = 1.0
    low, high = confint_proportions_2indep(
        treatment_conversions, treatment_n, control_conversions, control_n, method="wald", compare="diff", alpha=ALPHA
    )
    significant = p_value is not None and p_value < ALPHA
    need = needed_per_group(rc)
    if significant:
        verdict = "lift" if diff > 0 else "negative lift: treatment converts less than control"
    elif min(treatment_n, control_n) < need:
        verdict = f"too few members: need ≈ {need} per group for a 5-point effect"
    else:
        verdict = "no detectable difference"
    return Lift(
        treatment_n,
        treatment_conversions,
        control_n,
        control_conversions,
        rt,
        rc,
        round(diff * 100, 2),
        round(diff / rc, 4) if rc else None,
        (round(float(low) * 100, 2), round(float(high) * 100, 2)),
        round(p_value, 6) if p_value is not None else None,
        verdict,
    )
