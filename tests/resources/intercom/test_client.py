"""Pure parts of the Intercom client: the batched search queries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resources.intercom.client import MAX_FILTERS_PER_GROUP, identity_queries

identities = st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=400)


@given(identities, identities, st.integers(min_value=1, max_value=60))
def test_identity_queries_cover_every_identity_once_within_intercoms_limits(emails, external_ids, per_filter):
    queries = identity_queries(emails, external_ids, per_filter)
    searched: dict[str, list[str]] = {"email": [], "external_id": []}
    for query in queries:
        assert query["operator"] == "OR"
        assert 1 <= len(query["value"]) <= MAX_FILTERS_PER_GROUP
        for leaf in query["value"]:  # one level of nesting: leaves are plain filters
            assert leaf["operator"] == "IN" and "field" in leaf
            assert 1 <= len(leaf["value"]) <= per_filter
            searched[leaf["field"]] += leaf["value"]
    assert searched == {"email": emails, "external_id": external_ids}
    filters = -(-len(emails) // per_filter) + -(-len(external_ids) // per_filter)
    assert len(queries) == -(-filters // MAX_FILTERS_PER_GROUP)  # as few calls as the limits allow


def test_identity_queries_reject_an_empty_filter_size():
    with pytest.raises(ValueError, match="values_per_filter"):
        identity_queries(["a@x.com"], [], 0)
