"""Injected faults: what the next matching requests suffer, set through `/_sim/faults`."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

FaultKind = Literal["status", "reset", "slow", "truncate", "loop", "redirect"]
KINDS: frozenset[str] = frozenset({"status", "reset", "slow", "truncate", "loop", "redirect"})


def reject_unknown(shape: type, raw: dict[str, Any], what: str) -> None:
    """Control-API bodies name only fields of `shape` (a dataclass): typos fail instead of passing."""
    unknown = set(raw) - {f.name for f in fields(shape)}
    if unknown:
        msg = f"unknown {what}: {sorted(unknown)}"
        raise ValueError(msg)


@dataclass
class Fault:
    """One fault rule.

    kind: `status` answers `status` (e.g. 429, 500) with an optional `Retry-After`; `reset` sends
    part of the body and resets the connection; `slow` sleeps `delay` seconds before answering;
    `truncate` sends a JSON body cut in half; `loop` points `links.next` back to the first page;
    `redirect` answers 307 with `Location: <location><the request's path>`.
    `path` is a prefix of the API path (after `/api/v1`); `skip` lets that many matching requests
    through first; `times` is how many requests it then hits (-1: until cleared).
    """

    kind: FaultKind
    path: str = ""
    times: int = 1
    skip: int = 0
    status: int = 503
    retry_after: float | None = None
    retry_after_form: Literal["seconds", "http-date"] = "seconds"
    delay: float = 0.0
    location: str = ""

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Fault:
        reject_unknown(cls, raw, "fault fields")
        if raw.get("kind") not in KINDS:
            msg = f"fault kind must be one of {sorted(KINDS)}"
            raise ValueError(msg)
        return cls(**raw)


class FaultPlan:
    """The active fault rules; the first rule matching a request decides what happens to it."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._rules.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._rules]

    def take(self, path: str) -> Fault | None:
        """Consume and return the fault that applies to a request for `path`, if any."""
        with self._lock:
            for rule in self._rules:
                if not path.startswith(rule.path):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.times > 0:
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                return rule
        return None
