"""A stream schema's `date-time` fields stored as BSON dates (the `dates_as_bson` setting).

Where the schema says a string is a `date-time` (a field of the record, of an object inside it at
any depth, or an array's items; in a type list or an `anyOf`/`oneOf` option alike), an ISO 8601
value is stored as a BSON date: UTC, to the millisecond (BSON's precision), a value without an
offset taken as UTC. A value that does not parse (or is no string) is stored as sent. The content
hash is of the record as sent, so a stored date never makes a record `changed` by itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from target_mongo_upsert.rejections import MAX_DEPTH  # a schema nesting deeper describes no storable record


@dataclass(frozen=True)
class Field:
    """Where a field holds dates: itself, inside it (an object's fields), or in its items."""

    date_time: bool = False
    properties: dict[str, Field] | None = None
    items: Field | None = None


def _options(schema: dict[str, Any]) -> list[dict[str, Any]]:
    options = [schema]
    for word in ("anyOf", "oneOf", "allOf"):
        options += [o for o in schema.get(word) or () if isinstance(o, dict)]
    return options


def _field(schema: dict[str, Any], depth: int = 0) -> Field | None:
    """The field's dates, or None when it holds none."""
    if depth > MAX_DEPTH:
        return None
    date_time, items = False, None
    properties: dict[str, Field] = {}
    for option in _options(schema):
        kinds = option.get("type", "string")
        string = "string" in kinds if isinstance(kinds, list) else kinds == "string"
        date_time = date_time or (option.get("format") == "date-time" and string)
        properties |= plan(option, depth + 1) or {}
        if isinstance(option.get("items"), dict):
            items = items or _field(option["items"], depth + 1)
    if not (date_time or properties or items):
        return None
    return Field(date_time, properties or None, items)


def plan(schema: dict[str, Any], depth: int = 0) -> dict[str, Field] | None:
    """Per property of an object schema, where it holds dates; None when none does."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return None
    fields = {name: f for name, sub in properties.items() if isinstance(sub, dict) and (f := _field(sub, depth))}
    return fields or None


def parse(text: str) -> dt.datetime | None:
    """An ISO 8601 date-time (a date alone is its midnight) in UTC, or None."""
    try:
        value = dt.datetime.fromisoformat(text)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # not ISO 8601, or past year 1 or 9999 in UTC
        return None


def _converted(value: Any, field: Field) -> Any:
    if isinstance(value, str):
        return (parse(value) or value) if field.date_time else value
    if isinstance(value, dict) and field.properties:
        to_dates(value, field.properties)
    elif isinstance(value, list) and field.items:
        value[:] = [_converted(item, field.items) for item in value]
    return value


def to_dates(record: dict[str, Any], fields: dict[str, Field]) -> None:
    """Replace, in place, the record's date-time strings that parse with their dates."""
    for name, field in fields.items():
        value = record.get(name)
        if value is not None:
            record[name] = _converted(value, field)
