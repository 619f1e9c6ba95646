"""A record's `_id`: its single key property's value, composite keys joined with `::`; a stream
without key properties appends (every record a key of its own)."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from singer_sdk.exceptions import MissingKeyPropertiesError


class RecordKeyError(MissingKeyPropertiesError):
    """A record lacks a key property its stream declares."""


class KeyRule:
    def __init__(self, stream: str, key_properties: list[str]) -> None:
        self.stream = stream
        self.key_properties = key_properties

    @property
    def appends(self) -> bool:
        """No key properties: every record is a new document, none is looked up."""
        return not self.key_properties

    def key(self, record: dict[str, Any], position: int) -> Any:
        if not self.key_properties:
            # No declared key: two equal records are two rows of the source, so each is kept (a new
            # ObjectId's text: unique, and in the order written); ACTIVATE_VERSION retires old ones.
            return str(ObjectId())
        if len(self.key_properties) == 1:  # nearly every stream: the value itself
            value = record.get(self.key_properties[0])
            if value is None:
                raise self._missing(self.key_properties[0], position)
            return value
        values = []
        for prop in self.key_properties:
            value = record.get(prop)
            if value is None:
                raise self._missing(prop, position)
            values.append(value)
        return "::".join(str(v) for v in values)

    def _missing(self, prop: str, position: int) -> RecordKeyError:
        return RecordKeyError(f"stream {self.stream}: record {position} has no value for key property {prop!r}")
