"""Bad warehouse rows through the real nightly_sync: each is reported, left out, and the rest syncs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from resources.state.store import StateStore
from tests.e2e.harness import sync_world
from tests.e2e.test_bad_input_causes import extra_users

pytestmark = pytest.mark.slow


def _spoil_users(url: str, future: str, duplicate: str, copied_without_key: str, bad_date: str | None) -> None:
    """Users become a view holding a duplicate and a keyless row."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        view = extra_users(
            f"SELECT * FROM users_base WHERE user_id = '{duplicate}'",
            f"SELECT NULL, account_id, email, name, created_at FROM users_base WHERE user_id = '{copied_without_key}'",
        )
        for statement in view:
            conn.execute(sa.text(statement))
        conn.execute(
            sa.text("UPDATE users_base SET created_at = '2027-06-01 00:00:00' WHERE user_id = :u"), {"u": future}
        )
        if bad_date:  # SQLite keeps text as given; PostgreSQL's timestamp column cannot hold it
            conn.execute(sa.text("UPDATE users_base SET created_at = '03/15/2024' WHERE user_id = :u"), {"u": bad_date})
            conn.execute(
                sa.text("UPDATE usage_events SET occurred_at = 'yesterday' WHERE user_id = :u"),
                {"u": copied_without_key},
            )
    engine.dispose()


def test_bad_user_rows_are_reported_and_the_rest_syncs(warehouse_url):
    sqlite = warehouse_url.startswith("sqlite")
    with sync_world(warehouse_url, users=120) as env:
        ids = env.world.users_frame()["user_id"].tolist()
        future, duplicate, keyless, bad_date = ids[3], ids[5], ids[7], ids[9] if sqlite else None
        keyless_row = 1 if sqlite else len(ids) + 2  # NULL sorts first on SQLite, last on PostgreSQL
        _spoil_users(warehouse_url, future, duplicate, keyless, bad_date)

        result = env.run()

        assert result.success
        errors = StateStore(warehouse_url).errors_for_run(result.run_id)
        by_model = {}
        for e in errors:
            by_model.setdefault(e["model"], []).append((e["record_key"], e["field"], e["code"], e["message"]))
        expected_users = [
            (
                f"row {keyless_row}",
                "user_id",
                "missing_key",
                f"users row {keyless_row}: user_id is missing; raw value NULL",
            ),
            *[
                (
                    duplicate,
                    "user_id",
                    "duplicate_key",
                    f"users {duplicate}: user_id appears more than once; none of these rows is synced (2 rows); "
                    f"raw value '{duplicate}'",
                )
            ]
            * 2,
            (
                future,
                "created_at",
                "future_date",
                f"users {future}: created_at is in the future (now is 2026-11-20T12:00:00+00:00); raw value "
                + ("'2027-06-01 00:00:00'" if sqlite else "'2027-06-01T00:00:00+00:00'"),
            ),
        ]
        if sqlite:
            expected_users.append(
                (
                    bad_date,
                    "created_at",
                    "unparseable_date",
                    f"users {bad_date}: created_at is not an ISO-8601 timestamp; raw value '03/15/2024'",
                )
            )
        assert sorted(by_model["users"]) == sorted(expected_users)
        if sqlite:
            events = by_model["usage_events"]
            assert events and all(
                e[:3] == (keyless, "occurred_at", "unparseable_date") and e[3].endswith("raw value 'yesterday'")
                for e in events
            )

        left_out = {future, duplicate} | ({bad_date} if bad_date else set())
        pushed = env.intercom_app.contacts_by_external_id()
        assert set(pushed) == set(ids) - left_out  # the rest synced; no duplicate was pushed


def test_too_many_bad_rows_fail_the_run_with_counts_per_cause(sqlite_url):
    with sync_world(sqlite_url, users=120) as env:
        ids = env.world.users_frame()["user_id"].tolist()
        _spoil_users(sqlite_url, ids[3], ids[5], ids[7], ids[9])
        env.settings_overrides = {"max_error_rate": 0.02}
        total = len(ids) + 2

        result = env.run()

        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure and e.step_key == "warehouse_users")
        assert failure.step_failure_data.user_failure_data.description == (
            f"users: 5 of {total} rows are bad ({5 / total:.1%} > 2.0%); by cause {{'duplicate_key': 2, "
            "'missing_key': 1, 'future_date': 1, 'unparseable_date': 1}; each is in sync_errors"
        )
        assert env.intercom_app.stats()["contacts"] == 0  # nothing pushed from a bad table
