"""The usage query as SQL: built without a database, so its shape can be read and checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from resources.usage_query import UsageQuery, usage_columns
from resources.warehouse import UsageEventsTable, WarehouseResource

AS_OF = datetime(2025, 3, 1, tzinfo=UTC)
METRICS = {"reports_created": "report_created", "users_invited": "teammate_invited"}


def _sql(dialect, **resource_config) -> str:
    tables = WarehouseResource(**resource_config).tables()
    return str(UsageQuery(tables, METRICS, AS_OF).aggregate().compile(dialect=dialect))


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
def test_one_group_by_with_conditional_counts(dialect) -> None:
    sql = _sql(dialect)
    assert sql.count("GROUP BY") == 1
    assert "GROUP BY usage_events.user_id" in sql
    # Two counts per metric, each a CASE inside count(): one scan answers every metric.
    assert sql.count("count(CASE WHEN") == 2 * len(METRICS)
    assert "LEFT OUTER JOIN" in sql  # users without events still get a row


def test_the_bare_group_by_is_the_aggregations_inner_query() -> None:
    tables = WarehouseResource().tables()
    bare = str(UsageQuery(tables, METRICS, AS_OF).per_user_counts().compile(dialect=postgresql.dialect()))
    whole = str(UsageQuery(tables, METRICS, AS_OF).aggregate().compile(dialect=postgresql.dialect()))
    assert "JOIN" not in bare and bare.count("GROUP BY") == 1
    # What bench/usage.py times is what revsync issues, from the counts to the GROUP BY.
    assert bare.split("SELECT usage_events.user_id, ", 1)[1] in whole


def test_sqlite_compares_normalised_text_postgres_compares_timestamps() -> None:
    sqlite_sql = _sql(sqlite.dialect())
    postgres_sql = _sql(postgresql.dialect())
    assert "strftime('%Y-%m-%d %H:%M:%f', usage_events.occurred_at) <= strftime(" in sqlite_sql
    assert "strftime" not in postgres_sql
    assert "usage_events.occurred_at <= %(as_of)s::TIMESTAMP WITH TIME ZONE" in postgres_sql


def test_configured_names_are_rendered() -> None:
    sql = _sql(
        postgresql.dialect(),
        db_schema="analytics",
        usage_events=UsageEventsTable(table="events", user_id="uid", event_name="kind", occurred_at="ts"),
    )
    assert "FROM analytics.events" in sql
    assert "GROUP BY analytics.events.uid" in sql
    assert "analytics.events.kind = " in sql
    assert "max(analytics.events.ts)" in sql
    assert "occurred_at" not in sql


def test_columns_follow_the_metrics() -> None:
    assert usage_columns(METRICS) == ["reports_created", "reports_created_30d", "users_invited", "users_invited_30d"]
    query = UsageQuery(WarehouseResource().tables(), METRICS, AS_OF).aggregate()
    assert [c.name for c in query.selected_columns] == ["user_id", *usage_columns(METRICS), "last_active_at"]


@pytest.mark.parametrize(
    "metrics",
    [{}, {"last_active_at": "x"}, {"a": "x", "a_30d": "y"}],
    ids=["empty", "reserved", "window-clash"],
)
def test_bad_metrics_are_refused(metrics) -> None:
    with pytest.raises(ValueError):
        UsageQuery(WarehouseResource().tables(), metrics, AS_OF).aggregate()


def test_naive_as_of_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        UsageQuery(WarehouseResource().tables(), METRICS, datetime(2025, 3, 1)).aggregate()
