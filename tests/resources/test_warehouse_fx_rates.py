import sqlalchemy as sa

from resources.warehouse import WarehouseResource


def test_reads_the_configured_rates_table(warehouse_url):
    engine = sa.create_engine(warehouse_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE fx (currency VARCHAR(3), rate NUMERIC(18, 8))"))
        conn.execute(sa.text("INSERT INTO fx VALUES ('eur', 1.08), ('gbp', 1.27)"))
    engine.dispose()
    frame = WarehouseResource(url=warehouse_url, fx_rates_table="fx").read_fx_rates()
    assert sorted((c, float(r)) for c, r in zip(frame["currency"], frame["rate"], strict=True)) == [
        ("eur", 1.08),
        ("gbp", 1.27),
    ]


def test_no_table_configured_means_no_rows(sqlite_url):
    assert WarehouseResource(url=sqlite_url).read_fx_rates().empty


def test_database_passwords_stay_out_of_reprs():
    from resources.state import StateStoreResource

    url = "postgresql+psycopg://revsync:s3cret-pw@db.internal:5432/analytics"
    assert "s3cret-pw" not in repr(WarehouseResource(url=url))
    assert "s3cret-pw" not in repr(StateStoreResource(url=url))
