"""The simulator's mutable state: switches, issued tokens, the rate limiter and the request log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from peakon_simulator.faults import FaultPlan, reject_unknown
from peakon_simulator.generator import EMPLOYEE_ID_BASE, PeakonData

REQUEST_LOG_LIMIT = 100_000
LINK_FORMS = ("absolute", "root-relative", "relative", "query")
LAST_PAGE_NEXT = ("null", "self", "empty")
# Where tenants keep an employee's manager reference.
MANAGER_FIELDS = ("relationships.manager", "relationships.Manager", "attributes.manager")
RATE_WINDOW_SECONDS = 3600
DEFAULT_APP_TOKEN = "sim-app-token"  # noqa: S105 - the simulator's public, fake token


@dataclass
class Switches:
    """Behaviours a test turns on to exercise a client's fallbacks."""

    auth_form_only: bool = False  # reject JSON (415), accept only form-encoded `token=...`
    token_in_attributes: bool = False  # answer with the token at data.attributes.token
    employees_meta_paging: bool = False  # page employees with meta.page instead of links.next
    allow_driver_groups: bool = False  # accept a driver id as {group} in /scores/contexts
    token_max_requests: int | None = None  # a bearer token dies after N API requests
    token_ttl_seconds: float | None = None  # ... or T seconds after it was issued
    rate_limit_per_hour: int = 5000  # Peakon's documented limit per application
    # The largest /employees page it serves: a larger per_page is clamped to it (and is the default).
    employees_per_page: int = 10_000
    odd_answers_every: int | None = None  # every Nth answer: odd types, a missing field, unknown fields
    # How `links.next` is spelled: `absolute` (http://host/api/v1/answers/export?...), `root-relative`
    # (/api/v1/answers/export?...), `relative` (answers/export?..., from the API root) or `query` (?...).
    next_link_form: str = "absolute"
    # What the last export page says next: `null`; `self` (a link to itself: "nothing more yet");
    # `empty` (a link to a page after the last answer, which is empty and links to itself).
    last_page_next: str = "null"
    # Absolute next links on another origin (e.g. http://127.0.0.2:9999): a hostile or broken server.
    next_link_origin: str | None = None
    gzip_responses: bool = False  # API bodies sent with Content-Encoding: gzip
    # every Nth answer hostile: an object or array id, a $-prefixed or dotted field, or deep nesting
    hostile_answers_every: int | None = None
    extra_field: str | None = None  # every answer gets attributes.<extra_field>, unknown to the spec
    employees_count_offset: int = 0  # /employees/count off by this much (a client must notice)
    manager_field: str = MANAGER_FIELDS[0]  # where an employee's manager reference sits
    minutes_per_response: int = 7  # time between two survey responses (more: answers span more months)

    def update(self, raw: dict[str, Any]) -> None:
        reject_unknown(type(self), raw, "switches")
        choices = (
            ("next_link_form", LINK_FORMS),
            ("last_page_next", LAST_PAGE_NEXT),
            ("manager_field", MANAGER_FIELDS),
        )
        for name, allowed in choices:
            if name in raw and raw[name] not in allowed:
                msg = f"{name} must be one of {list(allowed)}"
                raise ValueError(msg)
        for key, value in raw.items():
            setattr(self, key, value)


class SimulatorState:
    def __init__(self, *, answers: int, employees: int, seed: int, company_id: int, app_token: str) -> None:
        self.data = PeakonData(seed=seed, employees=employees, company_id=company_id)
        self.initial_answers = answers
        self.answer_count = answers
        self.app_token = app_token
        self.switches = Switches()
        self.faults = FaultPlan()
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[float, int]] = {}  # token -> (issued at, requests made)
        self._token_serial = itertools.count(1)
        self._secret = hashlib.sha256(f"sim-{seed}".encode()).digest()
        self._recent: deque[float] = deque()
        # A week of change: employee index -> how often it changed; removed indices; added ones.
        self.employee_versions: dict[int, int] = {}
        self.removed_employees: set[int] = set()
        self.added_employees = 0
        self._log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)
        self.week = 0

    # -- answers -------------------------------------------------------------------------------
    def append_answers(self, count: int) -> dict[str, int]:
        with self._lock:
            self.answer_count += count
            return self.answer_summary()

    def answer_summary(self) -> dict[str, int]:
        total = self.answer_count
        return {
            "answers": total,
            "max_answer_id": PeakonData.answer_id(total - 1) if total else 0,
            "employees": len(self.live_employees()),
        }

    # -- employees ---------------------------------------------------------------------------
    def live_employees(self) -> list[int]:
        total = self.data.employee_count + self.added_employees
        return [i for i in range(total) if i not in self.removed_employees]

    def employee(self, index: int) -> dict[str, Any]:
        item = self.data.employee(index, self.employee_versions.get(index, 0))
        manager = item["relationships"].pop("manager", None)
        if manager is not None:
            part, name = self.switches.manager_field.split(".")
            item[part][name] = manager
        return item

    def churn(self, *, change: int, remove: int, add: int) -> dict[str, Any]:
        """A week of HR changes: `change` employees get another department and manager, `remove`
        leave, `add` join (after the others). Chosen by the seed and the week, so it replays."""
        with self._lock:
            self.week += 1
            live = [
                i for i in range(self.data.employee_count + self.added_employees) if i not in self.removed_employees
            ]
            picker = random.Random(f"{self.data.seed}-{self.week}")  # noqa: S311 - test data, not secrets
            chosen = picker.sample(live[1:], min(len(live) - 1, change + remove))  # the CEO stays
            changed, removed = sorted(chosen[:change]), sorted(chosen[change:])
            for index in changed:
                self.employee_versions[index] = self.employee_versions.get(index, 0) + 1
            self.removed_employees.update(removed)
            first_new = self.data.employee_count + self.added_employees
            self.added_employees += add
        return {
            "week": self.week,
            "changed": [EMPLOYEE_ID_BASE + i for i in changed],
            "removed": [EMPLOYEE_ID_BASE + i for i in removed],
            "added": [EMPLOYEE_ID_BASE + i for i in range(first_new, first_new + add)],
        }

    # -- tokens --------------------------------------------------------------------------------
    def issue_token(self) -> str:
        serial = next(self._token_serial)
        now = time.time()

        def b64(raw: bytes) -> str:
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = b64(json.dumps({"sub": "application", "iat": int(now), "jti": serial}).encode())
        signature = b64(hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        token = f"{header}.{payload}.{signature}"
        with self._lock:
            self._tokens[token] = (now, 0)
        return token

    def use_token(self, token: str) -> bool:
        """Count one request on `token`; False when it is unknown or has expired."""
        with self._lock:
            entry = self._tokens.get(token)
            if entry is None:
                return False
            issued, used = entry
            limit, ttl = self.switches.token_max_requests, self.switches.token_ttl_seconds
            if (limit is not None and used >= limit) or (ttl is not None and time.time() - issued > ttl):
                return False
            self._tokens[token] = (issued, used + 1)
            return True

    # -- rate limit ----------------------------------------------------------------------------
    def over_rate_limit(self) -> bool:
        """Count a request in a sliding one-hour window; True when it exceeds the limit."""
        now = time.monotonic()
        with self._lock:
            while self._recent and now - self._recent[0] > RATE_WINDOW_SECONDS:
                self._recent.popleft()
            if len(self._recent) >= self.switches.rate_limit_per_hour:
                return True
            self._recent.append(now)
            return False

    # -- request log ---------------------------------------------------------------------------
    def record(self, method: str, path: str, query: str, status: int) -> None:
        self._log.append({"method": method, "path": path, "query": query, "status": status, "at": time.time()})

    def requests(self) -> list[dict[str, Any]]:
        return list(self._log)

    def clear_requests(self) -> int:
        cleared = len(self._log)
        self._log.clear()
        return cleared

    def reset(self) -> None:
        """Back to the state at start: switches, faults, appended answers, log, tokens, limiter."""
        with self._lock:
            self.answer_count = self.initial_answers
            self.switches = Switches()
            self.employee_versions.clear()
            self.removed_employees.clear()
            self.added_employees = 0
            self.week = 0
            self._tokens.clear()
            self._recent.clear()
            self._log.clear()
        self.faults.clear()

    def describe(self) -> dict[str, Any]:
        return {**self.answer_summary(), "switches": asdict(self.switches), "faults": self.faults.describe()}
