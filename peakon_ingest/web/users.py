"""Who may read the pages: `web_users` (argon2id hashes), and how often a login may fail."""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pymongo.database import Database

USERS = "web_users"
ROLES = ("analyst", "admin")  # each role sees what the ones before it see
HASHER = PasswordHasher()  # argon2id, the library's recommended parameters
# Verified when the name is unknown, so an unknown name costs what a wrong password does.
DECOY = HASHER.hash("a password nobody has")
LONGEST_NAME, SHORTEST_PASSWORD = 100, 12
REMEMBERED = 10_000  # (name, address) pairs kept by the throttle before the old ones are forgotten


class UserError(ValueError):
    """A user cannot be added or removed as asked; the message says why."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def add(db: Database[dict[str, Any]], name: str, role: str, password: str) -> None:
    """A new user, or a new password and role for an existing one."""
    if role not in ROLES:
        raise UserError(f"--role: expected one of {', '.join(ROLES)} (got {role!r})")
    if not name.strip() or len(name) > LONGEST_NAME:
        raise UserError(f"NAME: expected 1 to {LONGEST_NAME} characters")
    if len(password) < SHORTEST_PASSWORD:
        raise UserError(f"the password must have at least {SHORTEST_PASSWORD} characters")
    doc = {"_id": name, "role": role, "hash": HASHER.hash(password), "changed_at": dt.datetime.now(dt.UTC)}
    db[USERS].replace_one({"_id": name}, doc, upsert=True)


def remove(db: Database[dict[str, Any]], name: str) -> bool:
    return db[USERS].delete_one({"_id": name}).deleted_count == 1


def listed(db: Database[dict[str, Any]]) -> list[User]:
    return sorted(
        (User(str(doc["_id"]), str(doc.get("role"))) for doc in db[USERS].find({}, {"role": 1})),
        key=lambda user: user.name,
    )


def known(db: Database[dict[str, Any]], name: str) -> User | None:
    doc = db[USERS].find_one({"_id": name}, {"role": 1})
    return User(name, str(doc["role"])) if doc and doc.get("role") in ROLES else None


def verify(db: Database[dict[str, Any]], name: str, password: str) -> User | None:
    """The user when the password is theirs; None alike for an unknown name and a wrong password."""
    doc = db[USERS].find_one({"_id": name}, {"role": 1, "hash": 1})
    try:
        HASHER.verify(doc["hash"] if doc else DECOY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return User(name, str(doc["role"])) if doc and doc.get("role") in ROLES else None


@dataclass
class Throttle:
    """At most `limit` failed logins per (name, address) in `window` seconds (this process's memory:
    a restart forgets them, which an attacker cannot cause from outside)."""

    limit: int = 5
    window: float = 60.0
    failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def _recent(self, key: tuple[str, str], moment: float) -> deque[float]:
        times = self.failures.setdefault(key, deque())
        while times and times[0] <= moment - self.window:
            times.popleft()
        return times

    def blocked(self, name: str, address: str) -> bool:
        return len(self._recent((name.casefold(), address), time.monotonic())) >= self.limit

    def failed(self, name: str, address: str) -> None:
        moment = time.monotonic()
        self._recent((name.casefold(), address), moment).append(moment)
        if len(self.failures) > REMEMBERED:  # names tried once long ago: forget them
            self.failures = {k: v for k, v in self.failures.items() if v and v[-1] > moment - self.window}
