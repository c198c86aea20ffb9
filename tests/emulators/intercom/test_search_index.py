"""The emulator's value index answers identity lookups exactly as a scan of every contact would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emulators.intercom.search import SearchIndex, compile_query

EMAILS = ["a@x.io", "A@X.io", "b@x.io", None, ""]
IDS = ["u1", "U1", "u2", None]

# (contact, seconds later, document or None = left the index)
step = st.tuples(
    st.sampled_from(["c1", "c2", "c3", "c4"]),
    st.integers(0, 5),
    st.one_of(
        st.none(),
        st.fixed_dictionaries({"email": st.sampled_from(EMAILS), "external_id": st.sampled_from(IDS)}),
    ),
)
equality = st.builds(
    lambda field, operator, values: {
        "field": field,
        "operator": operator,
        "value": values if operator == "IN" else values[0],
    },
    st.sampled_from(["email", "external_id", "name"]),
    st.sampled_from(["=", "IN", "!="]),
    st.lists(st.sampled_from([*EMAILS, *IDS]), min_size=1, max_size=3),
)
query = st.one_of(
    equality,
    st.builds(
        lambda operator, parts: {"operator": operator, "value": parts},
        st.sampled_from(["AND", "OR"]),
        st.lists(equality, min_size=1, max_size=4),
    ),
)


@settings(max_examples=1000)
@given(st.lists(step, max_size=12), query, st.integers(0, 4))
def test_a_lookup_finds_what_a_scan_finds_in_the_same_order(steps, search, lag):
    index, now = SearchIndex(lag_seconds=lag), 0.0
    for contact, later, document in steps:
        now += later
        index.record(contact, now, {**document, "id": contact} if document else None)
    predicate = compile_query(search, lambda name: False)
    scanned = [d for d in index.documents(now) if predicate(d)]
    looked_up = [d for d in index.documents(now, search) if predicate(d)]
    assert looked_up == scanned


def test_an_indexed_lookup_reads_only_its_candidates():
    index = SearchIndex(lag_seconds=0)
    for n in range(1000):
        index.record(f"c{n}", 0.0, {"id": f"c{n}", "email": f"u{n}@x.io", "external_id": f"u{n}"})
    search = {"operator": "OR", "value": [{"field": "email", "operator": "IN", "value": ["U7@x.io", "u9@x.io"]}]}
    assert [d["id"] for d in index.documents(1.0, search)] == ["c7", "c9"]
    assert len(index.documents(1.0, {"field": "name", "operator": "=", "value": "x"})) == 1000  # no index: a scan
