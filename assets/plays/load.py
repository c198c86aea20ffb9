"""Read and validate the plays file: every problem named by file, segment, field and what is valid.

Nothing is applied unless the whole file is valid (`PlaysFileError` lists every problem). The file
is validated when the Definitions are built (so `dg check defs` fails on a bad file), and each
run's assets (`segment_membership`, `play_results`, the push's attribute catalog) ask for it again
through `configured_plays`. That reads and parses the file once per version: the parse is cached by
path, modification time and size, so a run worker that imported the Definitions parses nothing
more, and a file edited between runs is read afresh.
"""

from __future__ import annotations

import difflib
import os
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from assets.attributes.catalog import RESERVED_PREFIX, DataType, catalog
from assets.plays.attributes import TIER_ATTRIBUTES, readable_attributes, segment_attribute_names
from assets.plays.model import (
    COMPANY_PREFIX,
    OPS,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Model,
    NotOf,
    Plays,
    PlaysFileModel,
    SegmentModel,
    Tier,
)
from assets.plays.model import Segment as SegmentPlay

PLAYS_ENV = "REVSYNC_PLAYS"
DEFAULT_PLAYS_FILE = Path(__file__).resolve().parents[2] / "plays.yaml"
ATTRIBUTE_BUDGET = 250  # Intercom's limit of custom data attributes per workspace

# Operators each attribute type accepts.
OPS_BY_TYPE: dict[DataType, tuple[str, ...]] = {
    "string": ("eq", "ne", "in", "not_in", "is_set", "is_not_set"),
    "boolean": ("eq", "ne", "is_set", "is_not_set"),
    "integer": OPS,
    "float": OPS,
    "date": ("eq", "ne", "gt", "gte", "lt", "lte", "is_set", "is_not_set"),
}
_VALUE_HINT: dict[DataType, str] = {
    "string": "a string",
    "boolean": "true or false",
    "integer": "a whole number",
    "float": "a number",
    "date": "a date (YYYY-MM-DD)",
}


class PlaysFileError(ValueError):
    """The plays file is invalid; `problems` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            f"{source} is invalid ({len(problems)} problem(s)); nothing was applied:\n- " + "\n- ".join(problems)
        )


def plays_path(configured: str | None = None) -> Path:
    """The configured path, else $REVSYNC_PLAYS, else plays.yaml at the project root."""
    chosen = configured or os.environ.get(PLAYS_ENV) or ""
    return Path(chosen) if chosen else DEFAULT_PLAYS_FILE


def configured_plays(plays_file: str, usage_metrics: dict[str, str] | None) -> Plays:
    """The run's plays: `SyncSettings.plays_file` (else $REVSYNC_PLAYS, else plays.yaml), validated;
    parsed once per version of the file (`plays_file_parses`)."""
    path = plays_path(plays_file)
    try:
        stat = path.stat()
    except OSError:
        return load_plays(path, usage_metrics)  # names the missing file
    metrics = None if usage_metrics is None else tuple(usage_metrics.items())
    return _validated(str(path), stat.st_mtime_ns, stat.st_size, metrics)


def plays_file_parses() -> int:
    """How many times this process has read and parsed a plays file (`load_plays` and `configured_plays`)."""
    return _parses[0]


def forget_parsed_plays() -> None:
    """Drop the parsed plays files, as a fresh process starts (the next `configured_plays` reads the file)."""
    _validated.cache_clear()
    _parsed_file.cache_clear()


@lru_cache(maxsize=16)
def _parsed_file(path: str, mtime_ns: int, size: int) -> Any:
    """The file's YAML, read once per (path, modification time, size)."""
    return _read_yaml(Path(path))


@lru_cache(maxsize=16)
def _validated(path: str, mtime_ns: int, size: int, usage_metrics: tuple[tuple[str, str], ...] | None) -> Plays:
    metrics = None if usage_metrics is None else dict(usage_metrics)
    return parse_plays(_parsed_file(path, mtime_ns, size), path, metrics)


def closest(word: str, options: list[str]) -> str:
    """' (did you mean a, b?)' for the nearest options, or ''."""
    near = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def load_plays(path: Path, usage_metrics: dict[str, str] | None = None) -> Plays:
    """The validated plays file at `path`; `usage_metrics` decides which usage attributes exist."""
    return parse_plays(_read_yaml(path), str(path), usage_metrics)


_parses = [0]  # files read and parsed by this process (`plays_file_parses`)


def _read_yaml(path: Path) -> Any:
    _parses[0] += 1
    source = str(path)
    if not path.is_file():
        raise PlaysFileError(source, [f"{path}: no such file (set {PLAYS_ENV} to the plays file's path)"])
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise PlaysFileError(source, [f"{source}: not valid YAML at {where}: {getattr(exc, 'problem', exc)}"]) from None


def parse_plays(raw: Any, source: str, usage_metrics: dict[str, str] | None = None) -> Plays:
    if not isinstance(raw, dict):
        raise PlaysFileError(
            source, [f"{source}: the file must be a mapping with `segments`, `tiers`, `acv_route_threshold`"]
        )
    try:
        parsed = PlaysFileModel.model_validate(raw)
    except ValidationError as exc:
        raise PlaysFileError(source, [_pydantic_problem(source, raw, e) for e in exc.errors()]) from None
    checker = _Checker(source, readable_attributes(usage_metrics))
    segments = tuple(checker.segment(s) for s in parsed.segments)
    checker.names(parsed.segments, len(catalog(usage_metrics)))
    tiers = checker.tiers(parsed)
    if checker.problems:
        raise PlaysFileError(source, checker.problems)
    return Plays(source, segments, tiers, parsed.acv_route_threshold)


def _where(source: str, raw: dict[str, Any], loc: tuple[int | str, ...]) -> tuple[str, tuple[int | str, ...]]:
    """'file: segment 'x'' and the rest of the location, from a pydantic location."""
    if len(loc) >= 2 and loc[0] == "segments" and isinstance(loc[1], int):
        entries = raw.get("segments")
        entry = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        label = f"segment {name!r}" if isinstance(name, str) else f"segment #{loc[1] + 1}"
        return f"{source}: {label}", loc[2:]
    return source, loc


def _field(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _pydantic_problem(source: str, raw: dict[str, Any], error: Any) -> str:
    where, rest = _where(source, raw, tuple(error["loc"]))
    field = _field(rest)
    where = f"{where}," if where != source else f"{source}:"
    kind = error["type"]
    if kind == "missing":
        return f"{where} field {field!r}: is required"
    if kind == "extra_forbidden":
        parent = SegmentModel if len(rest) == 1 and where != f"{source}:" else PlaysFileModel
        valid = sorted(parent.model_fields)
        name = str(rest[-1])
        return f"{where} field {field!r}: unknown field{closest(name, valid)}; valid fields: {', '.join(valid)}"
    if kind == "string_pattern_mismatch":
        return (
            f"{where} field {field!r}: {error['input']!r} is not a valid name; use snake_case "
            "(lower-case letters, digits and _, starting with a letter, at most 60 characters)"
        )
    return f"{where} field {field!r}: {error['msg']} (got {error['input']!r})"


class _Checker:
    """Checks conditions, names and tiers, collecting every problem."""

    def __init__(self, source: str, readable: dict[Model, dict[str, DataType]]) -> None:
        self.source = source
        self.readable = readable
        self.problems: list[str] = []

    def _problem(self, segment: str, field: str, message: str) -> None:
        self.problems.append(f"{self.source}: segment {segment!r}, field {field!r}: {message}")

    def segment(self, model: SegmentModel) -> SegmentPlay:
        when = self.condition(model.name, model.model, model.when, "when")
        goal = None if model.goal is None else self.condition(model.name, model.model, model.goal, "goal")
        return SegmentPlay(
            name=model.name,
            title=model.title,
            description=model.description,
            model=model.model,
            when=when,
            holdout_percent=model.holdout_percent,
            holdout_salt=model.holdout_salt,
            goal=goal,
            goal_window_days=model.goal_window_days,
            cooldown_days=model.cooldown_days,
            suppress_after_goal=model.suppress_after_goal,
        )

    def condition(self, segment: str, model: Model, node: Any, field: str) -> Condition:
        """Parse one condition node; on a problem, record it and return a placeholder."""
        placeholder = AllOf(())
        if not isinstance(node, dict):
            self._problem(
                segment, field, f"must be a mapping: {{attribute, op, value}}, all:, any: or not: (got {node!r})"
            )
            return placeholder
        groups = [k for k in ("all", "any", "not") if k in node]
        if groups:
            if len(node) != 1:
                self._problem(segment, field, f"{groups[0]}: must be the only key here (got {sorted(node)})")
                return placeholder
            key = groups[0]
            if key == "not":
                return NotOf(self.condition(segment, model, node["not"], f"{field}.not"))
            items = node[key]
            if not isinstance(items, list) or not items:
                self._problem(segment, field, f"{key}: needs a non-empty list of conditions (got {items!r})")
                return placeholder
            parsed = tuple(self.condition(segment, model, item, f"{field}.{key}[{i}]") for i, item in enumerate(items))
            return AllOf(parsed) if key == "all" else AnyOf(parsed)
        return self.comparison(segment, model, node, field)

    def comparison(self, segment: str, model: Model, node: dict[str, Any], field: str) -> Condition:
        placeholder = AllOf(())
        unknown = sorted(set(node) - {"attribute", "op", "value"})
        if unknown or "attribute" not in node or "op" not in node:
            valid = "{attribute, op, value} or one of all:, any:, not:"
            self._problem(segment, field, f"not a condition (keys {sorted(node)}); use {valid}")
            return placeholder
        attribute, op = node["attribute"], node["op"]
        data_type = self.attribute_type(segment, model, attribute, f"{field}.attribute")
        if op not in OPS:
            self._problem(
                segment, f"{field}.op", f"unknown operator {op!r}{closest(str(op), list(OPS))}; valid: {', '.join(OPS)}"
            )
            return placeholder
        if data_type is None:
            return placeholder
        if op not in OPS_BY_TYPE[data_type]:
            valid = ", ".join(OPS_BY_TYPE[data_type])
            self._problem(
                segment, f"{field}.op", f"{op!r} does not apply to {attribute!r} ({data_type}); valid: {valid}"
            )
            return placeholder
        if op in ("is_set", "is_not_set"):
            if node.get("value") is not None:
                self._problem(segment, f"{field}.value", f"{op} takes no value (got {node['value']!r}); remove it")
                return placeholder
            return Comparison(attribute, op)
        if "value" not in node or node["value"] is None:
            self._problem(segment, f"{field}.value", f"is required for {op}: {_VALUE_HINT[data_type]}")
            return placeholder
        value = self.value(segment, f"{field}.value", attribute, data_type, op, node["value"])
        return placeholder if value is None else Comparison(attribute, op, value)

    def attribute_type(self, segment: str, model: Model, attribute: Any, field: str) -> DataType | None:
        if not isinstance(attribute, str):
            self._problem(segment, field, f"must be an attribute name (got {attribute!r})")
            return None
        own, companies = self.readable[model], self.readable["company"]
        if attribute.startswith(COMPANY_PREFIX):
            name = attribute.removeprefix(COMPANY_PREFIX)
            if model == "company":
                self._problem(
                    segment, field, f"{attribute!r}: a company segment reads its own attributes; write {name!r}"
                )
                return None
            if name in companies:
                return companies[name]
            near = closest(name, sorted(companies))
            self._problem(segment, field, f"unknown company attribute {name!r}{near}; see the README attribute table")
            return None
        if attribute in own:
            return own[attribute]
        options = sorted(own) + ([f"{COMPANY_PREFIX}{n}" for n in sorted(companies)] if model == "contact" else [])
        self._problem(
            segment,
            field,
            f"unknown {model} attribute {attribute!r}{closest(attribute, options)}; see the README attribute table",
        )
        return None

    def value(self, segment: str, field: str, attribute: str, data_type: DataType, op: str, value: Any) -> Any:
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                self._problem(
                    segment,
                    field,
                    f"{op} needs a non-empty list of values, each {_VALUE_HINT[data_type]} (got {value!r})",
                )
                return None
            checked = [self.scalar(segment, f"{field}[{i}]", attribute, data_type, v) for i, v in enumerate(value)]
            return None if any(v is None for v in checked) else tuple(checked)
        return self.scalar(segment, field, attribute, data_type, value)

    def scalar(self, segment: str, field: str, attribute: str, data_type: DataType, value: Any) -> Any:
        ok = {
            "string": isinstance(value, str),
            "boolean": isinstance(value, bool),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "date": isinstance(value, date) or (isinstance(value, str) and _iso_date(value) is not None),
        }[data_type]
        if not ok:
            self._problem(
                segment, field, f"{value!r} is not {_VALUE_HINT[data_type]}, which {attribute!r} ({data_type}) needs"
            )
            return None
        if data_type == "date":  # the frames hold dates as Unix seconds (Intercom's format)
            day = value if isinstance(value, date) else _iso_date(value)
            assert day is not None
            return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        return value

    def names(self, segments: list[SegmentModel], catalog_size: int) -> None:
        """Unique names that clash with no catalog attribute, standard field or other segment's attribute."""
        taken = {n for fields in self.readable.values() for n in fields}
        owners: dict[str, str] = {}  # attribute name -> segment that writes it
        for s in segments:
            if s.name.startswith(RESERVED_PREFIX):
                reserved = f"names starting with {RESERVED_PREFIX!r} are reserved by Intercom's Stripe app"
                self._problem(s.name, "name", f"{reserved}; choose another name")
                continue
            if owners.get(s.name) == s.name:
                self._problem(s.name, "name", "duplicate segment name; each segment needs its own name")
                continue
            for derived in segment_attribute_names(s.name):
                if derived in taken:
                    clash = f"{derived!r} is already a revsync attribute or field (README attribute table)"
                    self._problem(s.name, "name", f"{clash}; choose another name")
                elif derived in owners:
                    clash = f"{derived!r} is also an attribute of segment {owners[derived]!r}"
                    self._problem(s.name, "name", f"{clash}; choose another name")
                owners.setdefault(derived, s.name)
        needed = catalog_size + len(TIER_ATTRIBUTES) + 3 * len(segments)
        if needed > ATTRIBUTE_BUDGET:
            spare = (ATTRIBUTE_BUDGET - catalog_size - len(TIER_ATTRIBUTES)) // 3
            self.problems.append(
                f"{self.source}: field 'segments': {len(segments)} segments need {needed} custom attributes in all "
                f"(3 per segment); Intercom allows {ATTRIBUTE_BUDGET}, so at most {spare} segments fit"
            )

    def tiers(self, parsed: PlaysFileModel) -> tuple[Tier, ...]:
        seen_names: set[str] = set()
        seen_mins: set[float] = set()
        for i, tier in enumerate(parsed.tiers):
            if tier.name in seen_names:
                self.problems.append(
                    f"{self.source}: field 'tiers[{i}].name': duplicate tier name {tier.name!r}; names must be unique"
                )
            if tier.min_mrr in seen_mins:
                self.problems.append(
                    f"{self.source}: field 'tiers[{i}].min_mrr': another tier already starts at {tier.min_mrr:g}; "
                    "each tier needs its own min_mrr"
                )
            seen_names.add(tier.name)
            seen_mins.add(tier.min_mrr)
        return tuple(sorted((Tier(t.name, t.min_mrr) for t in parsed.tiers), key=lambda t: t.min_mrr))


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
