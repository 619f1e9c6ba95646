"""Employees as the marts see them: keys, manager references, versions over time, and the org chart
(orphans and manager cycles included, since real tenants have both)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from tap_peakon.contract import as_int_or_self

from peakon_ingest.run.runs import aware

Key = int | str
HIRE_DATE = "employmentStart"  # the attribute Peakon keeps an employee's hire date in
# Where tenants keep the manager reference (the first one present wins).
MANAGER_PATHS = (("relationships", "Manager"), ("relationships", "manager"), ("attributes", "manager"))


def name_words(name: object) -> list[str]:
    """A name's words, case-folded: `mart_org.name_words`, which the org search matches by prefix
    through an index (a pattern over every name is a scan of the whole chart)."""
    return str(name).casefold().split() if name else []


def key_of(value: Any) -> Key | None:
    """One key type whatever the wire sent: `"5123"` and `5123` are the same employee."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    key = as_int_or_self(value)
    return key if isinstance(key, int | str) else str(key)


def manager_reference(record: Mapping[str, Any]) -> Key | None:
    for part, name in MANAGER_PATHS:
        holder = record.get(part)
        reference = holder.get(name) if isinstance(holder, Mapping) else None
        if isinstance(reference, Mapping):
            data = reference.get("data")
            if isinstance(data, Mapping):
                return key_of(data.get("id"))
    return None


@dataclass(frozen=True)
class Version:
    """An employee as one version of their record says, valid from `valid_from` (None: always)."""

    valid_from: dt.datetime | None
    valid_to: dt.datetime | None
    manager: Key | None
    attributes: Mapping[str, Any]

    @classmethod
    def of(cls, record: Mapping[str, Any], valid_from: Any = None, valid_to: Any = None) -> Version:
        attributes = record.get("attributes")
        attributes = attributes if isinstance(attributes, Mapping) else {}
        return cls(aware(valid_from), aware(valid_to), manager_reference(record), attributes)


def epoch_of(boundaries: list[dt.datetime], moment: dt.datetime) -> int:
    """Which version of the org chart holds at `moment`: how many of the (sorted) times it changed
    are at or before it."""
    return bisect.bisect_right(boundaries, moment)


@dataclass
class Staff:
    """Every known employee's versions, oldest first, and who is current."""

    versions: dict[Key, list[Version]] = field(default_factory=dict)
    current: dict[Key, Version] = field(default_factory=dict)
    _starts: dict[Key, list[dt.datetime]] = field(default_factory=dict)

    @classmethod
    def load(cls, employees: Iterable[Mapping[str, Any]], history: Iterable[Mapping[str, Any]]) -> Staff:
        """From `employees` documents (removed ones carry `removed_at`) and `employees_history`
        versions; an employee without history is one version valid at all times."""
        staff = cls()
        for doc in history:
            key = key_of(doc.get("key"))
            if key is not None and isinstance(doc.get("record"), Mapping):
                version = Version.of(doc["record"], doc.get("valid_from"), doc.get("valid_to"))
                staff.versions.setdefault(key, []).append(version)
        for doc in employees:
            key = key_of(doc.get("_id"))
            if key is None:
                continue
            version = Version.of(doc)
            if doc.get("removed_at") is None:
                staff.current[key] = version
            staff.versions.setdefault(key, [version])
        for key, versions in staff.versions.items():
            versions.sort(key=lambda v: v.valid_from or dt.datetime.min.replace(tzinfo=dt.UTC))
            staff._starts[key] = [v.valid_from or dt.datetime.min.replace(tzinfo=dt.UTC) for v in versions]
        return staff

    def index_at(self, key: Key, moment: dt.datetime) -> int:
        """Which version of `key` held at `moment`: the last one that started by then, else the
        earliest (a moment before the history began)."""
        return max(bisect.bisect_right(self._starts[key], moment) - 1, 0)

    def at(self, key: Key, moment: dt.datetime) -> Version:
        return self.versions[key][self.index_at(key, moment)]

    def hired(self, key: Key, moment: dt.datetime) -> dt.datetime | None:
        """When `key` was hired: `employmentStart` (a date) of their version valid at `moment` (so a
        later change of record never changes a past month), else of their first version that has one."""
        for version in [self.at(key, moment), *self.versions[key]]:
            value = version.attributes.get(HIRE_DATE)
            if isinstance(value, str):
                with suppress(ValueError):
                    return dt.datetime.fromisoformat(value[:10]).replace(tzinfo=dt.UTC)
        return None

    def present(self, key: Key, start: dt.datetime, end: dt.datetime) -> bool:
        """Whether `key` was employed in [start, end): hired before `end` (without a hire date: seen
        before `end`, or without history at all) and not gone before `start`."""
        versions = self.versions[key]
        hired, first, last = self.hired(key, end - dt.timedelta(microseconds=1)), versions[0].valid_from, versions[-1]
        joined = hired < end if hired is not None else first is None or first < end
        left = last.valid_to is not None and last.valid_to <= start
        return joined and not left

    def boundaries(self) -> list[dt.datetime]:
        """Every moment at which some version starts: the org chart is fixed between two of them."""
        return sorted({v.valid_from for versions in self.versions.values() for v in versions if v.valid_from})


@dataclass(frozen=True)
class Chart:
    """An org chart: each employee's effective manager (None at a root), with orphans (a manager who
    is not an employee) and cycles (broken at the member with the smallest key) marked."""

    manager: dict[Key, Key | None]
    effective: dict[Key, Key | None]
    orphans: frozenset[Key]
    cycles: frozenset[Key]

    @classmethod
    def of(cls, managers: Mapping[Key, Key | None]) -> Chart:
        effective: dict[Key, Key | None] = {}
        orphans = set()
        for key, manager in managers.items():
            orphan = manager is not None and manager not in managers
            if orphan:
                orphans.add(key)
            effective[key] = None if orphan else manager
        cycles = set()
        state: dict[Key, int] = {}  # 1: on the current walk, 2: done
        for start in effective:
            path: list[Key] = []
            node: Key | None = start
            while node is not None and node not in state:
                state[node] = 1
                path.append(node)
                node = effective[node]
            if node is not None and state[node] == 1:  # the walk came back to itself: a cycle
                loop = path[path.index(node) :]
                broken = min(loop, key=sort_key)
                effective[broken] = None
                cycles.add(broken)
            for visited in path:
                state[visited] = 2
        return cls(dict(managers), effective, frozenset(orphans), frozenset(cycles))

    def chain(self, key: Key) -> list[Key]:
        """The managers above `key`, from the top down to the direct one."""
        chain: list[Key] = []
        node = self.effective.get(key)
        while node is not None:
            chain.append(node)
            node = self.effective[node]
            if len(chain) > len(self.effective):  # only a cycle left unbroken makes a chain this long
                raise RuntimeError(f"the managers above {key!r} form a cycle")
        return chain[::-1]


def sort_key(key: Key) -> tuple[bool, Any]:
    """Keys order numbers first, then texts (a collection has one key type; this keeps mixed ones total)."""
    return (isinstance(key, str), key)
