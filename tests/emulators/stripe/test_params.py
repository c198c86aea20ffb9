"""The bracket-encoding decoder, against what stripe-python actually sends."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from stripe._encode import _api_encode

from emulators.stripe.params import ParamError, decode


def _roundtrip(params: dict) -> dict:
    """Encode with the SDK's own encoder, then decode."""
    return decode(parse_qsl(urlencode(list(_api_encode(params))), keep_blank_values=True))


def test_sdk_encoding_of_nested_params_decodes_back() -> None:
    params = {
        "expand": ["data.customer", "data.discounts"],
        "items": [{"price": "price_1", "quantity": "2"}, {"id": "si_1", "deleted": "true"}],
        "created": {"gte": "100", "lt": "200"},
        "metadata": {"account_id": "acc_1", "plan": ""},
    }
    assert _roundtrip(params) == params


def test_list_positions_order_by_number_not_by_arrival() -> None:
    pairs = [("items[10][price]", "b"), ("items[2][price]", "a")]
    assert decode(pairs) == {"items": [{"price": "a"}, {"price": "b"}]}


def test_empty_brackets_append_in_order() -> None:
    assert decode([("types[]", "a"), ("types[]", "b"), ("limit", "3")]) == {"types": ["a", "b"], "limit": "3"}


@pytest.mark.parametrize(
    "pairs",
    [
        [("a]", "1")],
        [("metadata[k]", "v"), ("metadata[k][x]", "v")],
        [("items[0]", "v"), ("items[x]", "v")],
        [("created", "1"), ("created[gte]", "2")],
    ],
)
def test_malformed_keys_are_rejected(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(ParamError):
        decode(pairs)
