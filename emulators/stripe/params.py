"""Decode Stripe's form encoding (`a[b][0][c]=v`) into nested dicts and lists.

Stripe's clients send GET query strings and POST bodies the same way: brackets nest, numeric
segments (and empty `[]`) make lists, everything else makes dicts. Values stay strings; an empty
string is how a client unsets a field, so callers decide what "" means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class ParamError(ValueError):
    """A key that is not valid bracket syntax, or that mixes list and dict use."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def _segments(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        raise ParamError(f"Invalid parameter name: {key}", key)
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def _listify(node: Any) -> Any:
    """Turn dicts whose keys are all list positions into lists ordered by position."""
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(isinstance(k, int) for k in converted):
        return [converted[k] for k in sorted(converted)]
    return converted


def decode(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[Any, Any] = {}
    appended = 0  # `[]` segments get increasing positions so they keep their order
    for key, value in pairs:
        segments = _segments(key)
        node = root
        path: list[Any] = []
        for i, segment in enumerate(segments):
            if i > 0 and (segment == "" or segment.isdigit()):
                step: Any = int(segment) if segment else 1_000_000 + appended
                appended += segment == ""
            else:
                step = segment
            path.append(step)
            last = i == len(segments) - 1
            if last:
                if isinstance(node.get(step), dict):
                    raise ParamError(f"Invalid value for {key}: expected a hash", key)
                node[step] = value
            else:
                child = node.setdefault(step, {})
                if not isinstance(child, dict):
                    raise ParamError(f"Invalid parameter {key}: {segments[0]} is not a hash or array", key)
                node = child
        mixed = [k for k in node if isinstance(k, int)]
        if mixed and len(mixed) != len(node):
            raise ParamError(f"Invalid array: {key}", key)
    return _listify(root)
