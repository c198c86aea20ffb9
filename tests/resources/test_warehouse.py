"""WarehouseResource against real SQLite and PostgreSQL: reads, usage aggregates, configured names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa

from assets.ingest.validation import validate_rows
from emulators.demo_world.warehouse_writer import write_frame
from resources.warehouse import AccountsTable, UsageEventsTable, UsersTable, WarehouseResource
from resources.warehouse_schema import ACCOUNT_COLUMNS, USAGE_EVENT_COLUMNS, USER_COLUMNS

AS_OF = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
WINDOW_START = AS_OF - timedelta(days=30)
SECOND = timedelta(seconds=1)
METRICS = {"reports_created": "report_created", "users_invited": "teammate_invited"}


def _seed(resource: WarehouseResource, events: list[tuple[str, str, datetime]]) -> None:
    tables = resource.tables()
    engine = resource.get_engine()
    tables.metadata.create_all(engine)
    created = AS_OF - timedelta(days=400)
    with engine.begin() as conn:
        conn.execute(sa.insert(tables.accounts), [{"account_id": "a1", "name": "Acme", "created_at": created}])
        conn.execute(
            sa.insert(tables.users),
            [
                {"user_id": u, "account_id": "a1", "email": f"{u}@Acme.io", "name": u.upper(), "created_at": created}
                for u in ("u1", "u2", "u3")
            ],
        )
        if events:
            conn.execute(
                sa.insert(tables.usage_events),
                [{"user_id": u, "event_name": n, "occurred_at": t} for u, n, t in events],
            )


BOUNDARY_EVENTS = [
    ("u1", "report_created", WINDOW_START - SECOND),  # lifetime only
    ("u1", "report_created", WINDOW_START),  # window start is inclusive
    ("u1", "report_created", AS_OF),  # as_of is inclusive
    ("u1", "report_created", AS_OF + SECOND),  # the future: ignored everywhere
    ("u1", "teammate_invited", AS_OF - timedelta(days=200)),
    ("u1", "dashboard_shared", AS_OF - timedelta(days=2)),  # not a metric, but activity
    ("u2", "dashboard_shared", AS_OF - timedelta(days=45)),
    ("u2", "teammate_invited", AS_OF + timedelta(days=1)),  # only future events of this metric
]


def test_usage_aggregates_at_the_boundaries(warehouse_url) -> None:
    resource = WarehouseResource(url=warehouse_url)
    _seed(resource, BOUNDARY_EVENTS)

    frame = resource.usage_aggregates(METRICS, AS_OF).set_index("user_id")

    assert frame.loc["u1", ["reports_created", "reports_created_30d"]].tolist() == [3, 2]
    assert frame.loc["u1", ["users_invited", "users_invited_30d"]].tolist() == [1, 0]
    assert frame.loc["u1", "last_active_at"] == AS_OF
    assert frame.loc["u2"].drop("last_active_at").tolist() == [0, 0, 0, 0]
    assert frame.loc["u2", "last_active_at"] == AS_OF - timedelta(days=45)
    # A user with no events at all still has a row, with zeros and no activity time.
    assert frame.loc["u3"].drop("last_active_at").tolist() == [0, 0, 0, 0]
    assert pd.isna(frame.loc["u3", "last_active_at"])
    assert all(frame[c].dtype == "int64" for c in ["reports_created", "reports_created_30d"])
    assert str(frame["last_active_at"].dtype) == "datetime64[us, UTC]"


def test_as_of_moves_the_window(warehouse_url) -> None:
    resource = WarehouseResource(url=warehouse_url)
    _seed(resource, BOUNDARY_EVENTS)
    later = resource.usage_aggregates(METRICS, AS_OF + timedelta(days=1)).set_index("user_id")
    assert later.loc["u1", ["reports_created", "reports_created_30d"]].tolist() == [4, 2]
    assert later.loc["u2", ["users_invited", "users_invited_30d"]].tolist() == [1, 1]


def test_as_of_in_another_zone_means_the_same_instant(warehouse_url) -> None:
    resource = WarehouseResource(url=warehouse_url)
    _seed(resource, BOUNDARY_EVENTS)
    tokyo = AS_OF.astimezone(ZoneInfo("Asia/Tokyo"))
    pd.testing.assert_frame_equal(resource.usage_aggregates(METRICS, tokyo), resource.usage_aggregates(METRICS, AS_OF))


def test_sqlite_text_in_other_iso_spellings_compares_by_instant(sqlite_url) -> None:
    """Rows written by other tools: 'T' separator, 'Z', a +02:00 offset. Compared as instants."""
    resource = WarehouseResource(url=sqlite_url)
    _seed(resource, [])
    with resource.get_engine().begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO usage_events VALUES (?, ?, ?)",
            [
                ("u1", "report_created", "2025-01-30T12:00:00Z"),  # = window start, in
                ("u1", "report_created", "2025-01-30T13:59:59+02:00"),  # 11:59:59Z, before the window
                ("u1", "report_created", "2025-03-01T14:00:00+02:00"),  # = as_of, in
                ("u1", "report_created", "2025-03-01T12:00:01"),  # after as_of
            ],
        )
    row = resource.usage_aggregates(METRICS, AS_OF).set_index("user_id").loc["u1"]
    assert row[["reports_created", "reports_created_30d"]].tolist() == [3, 2]
    assert row["last_active_at"] == AS_OF


def test_aggregation_runs_in_the_database(warehouse_url) -> None:
    """200k events come back as one row per user from one GROUP BY statement."""
    resource = WarehouseResource(url=warehouse_url)
    _seed(resource, [])
    i = np.arange(200_000)
    names = np.asarray(["report_created", "teammate_invited", "project_created", "dashboard_shared"], dtype=object)
    events = pd.DataFrame(
        {
            "user_id": np.asarray(["u1", "u2", "u3"], dtype=object)[i % 3],
            "event_name": names[i % 4],
            "occurred_at": np.datetime64(AS_OF.replace(tzinfo=None), "s") - i.astype("timedelta64[m]"),
        }
    )
    with resource.get_engine().begin() as conn:
        write_frame(conn, resource.tables().usage_events, events)
    statements: list[str] = []
    sa.event.listen(resource.get_engine(), "before_cursor_execute", lambda *a: statements.append(a[2]))

    frame = resource.usage_aggregates(METRICS, AS_OF)

    assert len(statements) == 1 and "GROUP BY" in statements[0]
    assert len(frame) == 3
    assert frame["reports_created"].sum() == 50_000
    assert frame["users_invited"].sum() == 50_000
    assert frame["reports_created_30d"].sum() == len(range(0, 30 * 24 * 60 + 1, 4))


def test_reads_are_ordered_and_validated_timestamps_are_utc(warehouse_url) -> None:
    resource = WarehouseResource(url=warehouse_url)
    _seed(resource, [])
    raw = resource.read_users()  # timestamps as the driver gives them: one bad value must not fail the read
    assert raw.columns.tolist() == ["user_id", "account_id", "email", "name", "created_at"]
    assert raw["user_id"].tolist() == ["u1", "u2", "u3"]
    assert raw["email"].iloc[0] == "u1@Acme.io"  # stored as is; matching decides on case
    users, problems = validate_rows(raw, "users", "user_id", ["created_at"], AS_OF)
    assert problems == [] and str(users["created_at"].dtype) == "datetime64[us, UTC]"
    assert users["created_at"].iloc[0] == AS_OF - timedelta(days=400)
    accounts, _ = validate_rows(resource.read_accounts(), "accounts", "account_id", ["created_at"], AS_OF)
    assert accounts.columns.tolist() == ["account_id", "name", "created_at"]
    assert accounts.iloc[0].tolist() == ["a1", "Acme", AS_OF - timedelta(days=400)]


def test_configured_table_and_column_names(warehouse_url) -> None:
    resource = WarehouseResource(
        url=warehouse_url,
        accounts=AccountsTable(table="orgs", account_id="org_id", name="org_name", created_at="signed_up"),
        users=UsersTable(table="people", user_id="pid", account_id="org", email="mail", name="full", created_at="ts"),
        usage_events=UsageEventsTable(table="tracks", user_id="pid", event_name="action", occurred_at="at"),
    )
    _seed(resource, BOUNDARY_EVENTS)
    inspector = sa.inspect(resource.get_engine())
    assert {"orgs", "people", "tracks"} <= set(inspector.get_table_names())
    assert [c["name"] for c in inspector.get_columns("tracks")] == ["pid", "action", "at"]

    # The frames use the canonical names whatever the warehouse calls them.
    assert resource.read_users().columns.tolist() == ["user_id", "account_id", "email", "name", "created_at"]
    assert resource.read_accounts()["account_id"].tolist() == ["a1"]
    frame = resource.usage_aggregates(METRICS, AS_OF).set_index("user_id")
    assert frame.loc["u1", ["reports_created", "reports_created_30d"]].tolist() == [3, 2]


def test_config_classes_name_every_canonical_column() -> None:
    for config, columns in [
        (AccountsTable, ACCOUNT_COLUMNS),
        (UsersTable, USER_COLUMNS),
        (UsageEventsTable, USAGE_EVENT_COLUMNS),
    ]:
        assert list(config.model_fields) == ["table", *columns]


def test_default_sqlite_file_is_relative_to_the_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    engine = WarehouseResource().get_engine()
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    assert (tmp_path / "data" / "warehouse.db").exists()
    engine.dispose()


def test_postgres_sessions_run_in_utc(postgres_url) -> None:
    """A `timestamp without time zone` column holds UTC: the session zone must not shift it."""
    resource = WarehouseResource(url=postgres_url)
    with resource.get_engine().connect() as conn:
        assert conn.execute(sa.text("SHOW TIME ZONE")).scalar() == "UTC"
