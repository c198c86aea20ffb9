"""Hand-placed cases at the edges of the playbook segments and of customer matching.

The random population fills both segments, but only by chance lands exactly on a boundary. These
cases do, on purpose and with stable ids (`a_<key>`, `u_<key>`), each saying what the sync must
conclude about it. Their users get exactly the events listed here and no random ones.

Ready for Pro Upgrade: plan free, reports_created > 8, account_age_days > 14.
Team Expansion Candidate: plan starter, users_invited > 3, seat_count < 10.
Ages sit 12 hours inside a whole day, so the verdicts hold for half a day after `as_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

HOUR = np.timedelta64(3600, "s")


@dataclass(frozen=True)
class PlantedCase:
    key: str
    why: str
    plan: str  # the subscribed product's plan; "free" means no subscription
    status: str = "active"
    age_days: float = 60.5
    reports: int = 0
    reports_days_ago: float = 1.0  # the newest report; the others are an hour apart before it
    invites: int = 0
    seats: int = 1
    customer_match: str = "metadata"
    email: str | None = None
    ready_for_pro_upgrade: bool = False
    team_expansion_candidate: bool = False

    @property
    def account_id(self) -> str:
        return f"a_{self.key}"

    @property
    def user_id(self) -> str:
        return f"u_{self.key}"

    @property
    def user_email(self) -> str:
        return self.email or f"{self.key.replace('_', '.')}@planted.example"

    @property
    def effective_plan(self) -> str:
        """The plan the sync should report: a canceled subscription counts for nothing."""
        return "free" if self.status == "canceled" else self.plan


@dataclass(frozen=True)
class PlantedCustomer:
    """A Stripe customer with a starter subscription that no account may claim."""

    key: str
    why: str
    email: str | None
    metadata_account_id: str | None = None


SHARED_EMAIL = "pat.shared@advisors-planted.example"

CASES: tuple[PlantedCase, ...] = (
    PlantedCase("pro_ready", "free, 9 reports, 60 days old", "free", reports=9, ready_for_pro_upgrade=True),
    PlantedCase("pro_8_reports", "8 reports is not more than 8", "free", reports=8),
    PlantedCase("pro_age_14", "14 whole days is not more than 14", "free", age_days=14.5, reports=12),
    PlantedCase("pro_age_15", "15 whole days", "free", age_days=15.5, reports=9, ready_for_pro_upgrade=True),
    PlantedCase(
        "pro_old_reports",
        "lifetime counts: 9 reports, none in the last 30 days",
        "free",
        age_days=200.5,
        reports=9,
        reports_days_ago=45,
        ready_for_pro_upgrade=True,
    ),
    PlantedCase(
        "pro_churned",
        "a canceled starter subscription leaves the account free",
        "starter",
        status="canceled",
        age_days=300.5,
        reports=10,
        ready_for_pro_upgrade=True,
    ),
    PlantedCase("pro_on_starter", "starter is not free", "starter", reports=20, seats=3),
    PlantedCase(
        "team_ready", "starter, 4 invites, 9 seats", "starter", invites=4, seats=9, team_expansion_candidate=True
    ),
    PlantedCase("team_3_invites", "3 invites is not more than 3", "starter", invites=3, seats=5),
    PlantedCase("team_10_seats", "10 seats is not fewer than 10", "starter", invites=5, seats=10),
    PlantedCase("team_on_pro", "pro is not starter", "pro", invites=6, seats=4),
    PlantedCase(
        "team_by_email",
        "customer without account metadata, matched by email in another case",
        "starter",
        invites=4,
        seats=3,
        customer_match="email",
        email="Team.By.Email@Planted.example",
        team_expansion_candidate=True,
    ),
    PlantedCase("shared_1", "one of two users sharing an email", "free", email=SHARED_EMAIL, reports=2),
    PlantedCase("shared_2", "one of two users sharing an email", "free", email=SHARED_EMAIL, reports=1),
)

CUSTOMERS: tuple[PlantedCustomer, ...] = (
    PlantedCustomer("nobody", "no metadata, and no user has this email", "billing@nobody-planted.example"),
    PlantedCustomer("no_email", "neither metadata nor an email", None),
    PlantedCustomer("ghost_account", "metadata names an account that does not exist", None, "a_does_not_exist"),
    PlantedCustomer("shared_email", "email shared by users of two accounts", SHARED_EMAIL.upper()),
)


def planted_accounts(now: datetime) -> pd.DataFrame:
    """Rows in the layout of `accounts.random_accounts`, one per case."""
    created = _signups(now)
    return pd.DataFrame(
        {
            "account_id": [c.account_id for c in CASES],
            "name": [f"Planted {c.key.replace('_', ' ').title()}" for c in CASES],
            "created_at": created,
            "user_count": 1,
            "plan": [c.plan for c in CASES],
            "currency": "usd",
            "interval": "month",
            "seats": [c.seats for c in CASES],
            "price_variant": "standard",
            "status": [c.status for c in CASES],
            "cancel_at_period_end": False,
            "coupon": "",
            "customer_match": [c.customer_match for c in CASES],
            "billing_started_at": created + 24 * HOUR,
        }
    )


def planted_users(now: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [c.user_id for c in CASES],
            "account_id": [c.account_id for c in CASES],
            "email": [c.user_email for c in CASES],
            "name": [f"Planted {c.key}" for c in CASES],
            "created_at": _signups(now),
        }
    )


def planted_events(now: datetime) -> pd.DataFrame:
    rows: list[tuple[str, str, np.datetime64]] = []
    for case in CASES:
        newest = np.datetime64(_naive(now - timedelta(days=case.reports_days_ago)), "s")
        rows += [(case.user_id, "report_created", newest - i * HOUR) for i in range(case.reports)]
        rows += [(case.user_id, "teammate_invited", newest - i * HOUR) for i in range(case.invites)]
    user_id, event_name, occurred = zip(*rows, strict=True)
    return pd.DataFrame(
        {"user_id": user_id, "event_name": event_name, "occurred_at": np.asarray(occurred, dtype="datetime64[s]")}
    )


def _signups(now: datetime) -> np.ndarray:
    return np.asarray([_naive(now - timedelta(days=c.age_days)) for c in CASES], dtype="datetime64[s]")


def _naive(value: datetime) -> datetime:
    """numpy datetime64 has no zone: the world keeps UTC wall time."""
    return value.replace(tzinfo=None)
