"""Personal data, handled in the tap before anything leaves it: redaction and keyed pseudonyms.

- `redact_fields`: field names or paths, matched case-insensitively. A name (`accountEmail`) matches
  that field at any depth of a record; a path (`attributes.accountEmail`, `relationships.*`) matches
  from the record's top, `*` standing for any one field. Mode `remove` drops what matches; `hash`
  replaces each value with a keyed pseudonym.
- `pseudonymize_ids`: employee identifiers become pseudonyms everywhere they appear (the answers'
  `employeeId`, `employeeExternalId`, `accountEmail`; the employees' ids, identifiers and every
  reference to a person), keys included, so answers and employees still join.

A pseudonym is `hmac-sha256:<hex>` of the value's text under `redact_key`: the same value gives the
same pseudonym in every stream and run, and without the key nobody can test a guess (an unkeyed
hash of an email address falls to a dictionary in seconds).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

MODES = ("remove", "hash")
PREFIX = "hmac-sha256:"
FIELD_PATH = re.compile(r"[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*")
# Where each stream carries an employee identifier (paths from the record's top; `*` is any field).
IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "answers_export": ("attributes.employeeId", "attributes.employeeExternalId", "attributes.accountEmail"),
    "employees": (
        "_id", "id", "attributes.identifier", "attributes.email", "attributes.accountEmail",
        "attributes.manager.data.id", "relationships.*.data.id",
    ),
}  # fmt: skip


def parse_fields(value: str | list[str] | None) -> list[str]:
    """Field names or paths from a comma-separated text or a list; anything else is an error."""
    names = value.split(",") if isinstance(value, str) else list(value or [])
    names = [name.strip() for name in names if name.strip()]
    if any(not FIELD_PATH.fullmatch(name) for name in names):
        msg = "expected comma-separated field names or paths such as accountEmail,attributes.answerComment"
        raise ValueError(msg)
    return names


class Pattern:
    """A field name (anywhere) or a dotted path (from the top, `*` for any field), case-insensitive."""

    def __init__(self, text: str, *, rooted: bool = False) -> None:
        self.parts = tuple(text.lower().split("."))
        self.anywhere = not rooted and len(self.parts) == 1 and self.parts[0] != "*"

    def matches(self, path: tuple[str, ...]) -> bool:
        if self.anywhere:
            return path[-1] == self.parts[0]
        return len(path) == len(self.parts) and all(p in {"*", q} for p, q in zip(self.parts, path, strict=True))


class Privacy:
    def __init__(self, *, fields: Iterable[str], mode: str, key: str | None, pseudonymize_ids: bool) -> None:
        self.redacted = [Pattern(field) for field in fields]
        self.mode = mode
        self.key = key.encode() if key else None
        self.identifiers = {stream: [Pattern(p, rooted=True) for p in paths] for stream, paths in IDENTIFIERS.items()}
        self.pseudonymize_ids = pseudonymize_ids

    def pseudonym(self, value: Any) -> str | None:
        if value is None:
            return None
        if self.key is None:
            raise ValueError("redact_key: required to make pseudonyms")
        return PREFIX + hmac.new(self.key, str(value).encode(), hashlib.sha256).hexdigest()

    def touches(self, stream: str) -> bool:
        """Whether any rule may change this stream's records."""
        return bool(self.redacted) or (self.pseudonymize_ids and bool(self.identifiers.get(stream)))

    def apply(self, stream: str, record: dict[str, Any]) -> dict[str, Any]:
        """`record` with its personal data redacted or pseudonymized, in place."""
        if self.touches(stream):
            self._walk(record, (), self.identifiers.get(stream, []) if self.pseudonymize_ids else [])
        return record

    def _walk(self, node: dict[str, Any], path: tuple[str, ...], identifiers: list[Pattern]) -> None:
        for name in list(node):
            here = (*path, name.lower())
            if any(p.matches(here) for p in self.redacted):
                if self.mode == "remove":
                    del node[name]
                else:
                    node[name] = self.pseudonym(node[name])
                continue
            if any(p.matches(here) for p in identifiers):
                node[name] = self.pseudonym(node[name])
                continue
            value = node[name]
            if isinstance(value, dict):
                self._walk(value, here, identifiers)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        self._walk(item, here, identifiers)
