import pandas as pd

from assets.ingest.fx_rates import merged_rates, parse_rate_rows


def test_good_rows_are_normalised_and_bad_ones_reported_by_currency_and_field():
    rows = pd.DataFrame(
        {
            "currency": ["EUR", " gbp ", "jpy", "chf", "xx", None, "sek", "eur"],
            "rate": ["1.08", 1.27, "0.0067", "0", "1", "1", "abc", "9"],
        }
    )
    rates, problems = parse_rate_rows(rows)
    assert rates == {"eur": "1.08", "gbp": "1.27", "jpy": "0.0067"}
    assert [(p.record, p.field) for p in problems] == [
        ("chf", "rate"),  # zero is not a rate
        ("xx", "currency"),
        ("(missing)", "currency"),
        ("sek", "rate"),
        ("eur", "currency"),  # a second eur row
    ]


def test_the_warehouse_wins_over_configuration():
    frame = merged_rates({"usd": "1", "eur": "1.08"}, {"eur": "1.1", "gbp": "1.3"})
    assert frame.to_dict("records") == [
        {"currency": "eur", "rate": "1.1", "source": "warehouse"},
        {"currency": "gbp", "rate": "1.3", "source": "warehouse"},
        {"currency": "usd", "rate": "1", "source": "configuration"},
    ]
