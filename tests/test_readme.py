"""The README's attribute table and quick start say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from assets.plays.attributes import sync_catalog
from assets.plays.load import DEFAULT_PLAYS_FILE, load_plays

README = Path(__file__).resolve().parents[1] / "README.md"


def _attribute_rows() -> list[tuple[str, str, str, str]]:
    text = README.read_text()
    table = text.split("<!-- attribute-table")[1].split("<!-- /attribute-table -->")[0]
    return re.findall(r"^\| `([a-z0-9_]+)` \| (\w+) \| (\w+) \| (.+) \|$", table, flags=re.M)


def test_attribute_table_matches_the_catalog_and_the_shipped_plays():
    expected = [
        (s.name, s.model, s.data_type, s.description) for s in sync_catalog(None, load_plays(DEFAULT_PLAYS_FILE))
    ]
    assert _attribute_rows() == expected


def test_quick_start_is_exactly_two_commands():
    text = README.read_text()
    block = text.split("## Quick start")[1].split("```bash")[1].split("```")[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
