"""Compact column specs for the state store's tables: `"external_id str255 key, email str320 null"`.

A schema text declares several tables: a line that starts with a name starts a table (its name, then
its columns); indented lines continue its columns (`StateStore.define_tables`).

A spec is comma-separated columns, each `name type [flag ...]`, in table order:
- types: `strN` (VARCHAR(N)), `text`, `int`, `bigint`, `float`, `bool`, `json`, `date`, `time`
  (timezone-aware timestamp);
- flags: `key` (part of the primary key), `null` (nullable; every other column is NOT NULL),
  `index`, `serial` (an autoincrementing integer key).

Each spec becomes the `sa.Column` that was written out long-hand before, so the tables' DDL is
unchanged (tests/resources/state/test_schema.py pins it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

_TYPES: dict[str, Any] = {
    "text": sa.Text,
    "int": sa.Integer,
    "bigint": sa.BigInteger,
    "float": sa.Float,
    "bool": sa.Boolean,
    "json": sa.JSON,
    "date": sa.Date,
    "time": sa.DateTime(timezone=True),
}
_FLAGS = {"key", "null", "index", "serial"}


def _type(word: str) -> Any:
    sized = re.fullmatch(r"str(\d+)", word)
    if sized:
        return sa.String(int(sized.group(1)))
    if word not in _TYPES:
        raise ValueError(f"unknown column type {word!r} (one of strN, {', '.join(_TYPES)})")
    return _TYPES[word]


def column(spec: str) -> sa.Column[Any]:
    """One column from `name type [flag ...]`."""
    name, kind, *flags = spec.split()
    unknown = set(flags) - _FLAGS
    if unknown:
        raise ValueError(f"column {name!r}: unknown flag(s) {sorted(unknown)} (one of {sorted(_FLAGS)})")
    options: dict[str, Any] = {"nullable": "null" in flags}
    if "key" in flags:
        options["primary_key"] = True
    if "index" in flags:
        options["index"] = True
    if "serial" in flags:
        options["autoincrement"] = True
    return sa.Column(name, _type(kind), **options)


def columns(*specs: str) -> list[sa.Column[Any]]:
    """Columns from comma-separated specs, in order."""
    return [column(part) for spec in specs for part in spec.split(",") if part.strip()]


def same_type(names: Iterable[str], kind: str) -> str:
    """One spec for several columns of one type: `same_type(["a", "b"], "int")` is `"a int, b int"`."""
    return ", ".join(f"{name} {kind}" for name in names)


def schema_tables(schema: str) -> list[tuple[str, str]]:
    """(table name, its column specs) per table of a schema text, in order."""
    tables: list[tuple[str, str]] = []
    for line in schema.splitlines():
        if not line.strip():
            continue
        if line[0].isspace():
            if not tables:
                raise ValueError(f"schema line {line.strip()!r} continues no table")
            name, spec = tables[-1]
            tables[-1] = (name, f"{spec}, {line.strip()}")
        else:
            name, _, spec = line.partition(" ")
            tables.append((name, spec.strip()))
    return tables
