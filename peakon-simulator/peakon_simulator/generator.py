"""Deterministic Peakon data, generated on demand from a seed.

Every item is a pure function of ``(seed, index)``, so a million answers never sit in memory and
two simulators with the same seed serve byte-identical data.
"""

from __future__ import annotations

import csv
import datetime as dt
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

ANSWER_ID_BASE = 1_000_000
ANSWERS_PER_RESPONSE = 12
EMPLOYEE_ID_BASE = 5_000

# The driver slugs the spec enumerates for `filter[question.driver]`.
DRIVER_SLUGS = (
    "accomplishment", "autonomy", "collaboration", "communication", "engagement", "environment",
    "free_opinions", "goal_setting", "growth", "management_support", "meaningful_work",
    "organisational_fit", "peer_relationship", "recognition", "reward", "reward_recognition",
    "strategy", "workload",
)  # fmt: skip
# The category groups the spec accepts as `{group}` in /scores/contexts/{contextId}/group/{group}.
CATEGORY_GROUPS = frozenset(
    {
        "engagement", "diversity_inclusion", "health_wellbeing", "transformation_change",
        "onboarding", "exit", "covid19", "other", "environmental_social_governance",
        "ancc_magnet_nursing_excellence", "values",
    }
)  # fmt: skip
DEPARTMENTS = {
    "Engineering": ("Platform", "Product", "Data"),
    "Sales": ("EMEA", "Americas", "APAC"),
    "Operations": ("Finance", "People", "Facilities"),
    "Support": ("Tier 1", "Tier 2"),
}
FIRST_NAMES = ("Ada", "Bo", "Chen", "Dana", "Eli", "Farah", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea")
LAST_NAMES = ("Andersen", "Berg", "Costa", "Diaz", "Evans", "Fischer", "Gray", "Holm", "Ito", "Jensen")
LOCALES = ("en", "en", "en", "da", "de", "fr", "es")
SKIP_REASONS = ("not_applicable", "dont_know", "privacy")
COMMENTS = (
    "More clarity on priorities would help.",
    "Great team, proud of what we ship.",
    "Workload has been heavy this quarter.",
    "I would like more feedback from my manager.",
    "Tools are slow; builds take too long.",
)
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DEFAULT_EMPLOYEES = 2_000  # the simulator's company, unless told otherwise
MANAGES_IN = 10  # 6 in 10 employees below the top manage a team (a hash modulo 10 >= 4) ...
SPANS = (3, 12)  # ... of 3 to 12 direct reports
ORPHANS_ONE_IN = 97  # ... and about 1 in 97 names a manager who is not an employee
SCORE_TIMES = ("2026-08-03T00:00:00Z", "2026-09-07T00:00:00Z", "2026-10-05T00:00:00Z", "2026-11-02T00:00:00Z")


def mix(*values: int) -> int:
    """A 64-bit splitmix-style hash: cheap, stateless randomness for item `i` of seed `s`."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = (x ^ (v & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x


@dataclass(frozen=True)
class Category:
    id: str
    driver: str
    subdriver: str | None

    @property
    def slug(self) -> str:
        return self.driver.lower().replace(" ", "_")


def load_catalog() -> tuple[Category, ...]:
    text = resources.files(__package__).joinpath("drivers_catalog.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return tuple(Category(r["Id"], r["Driver"], r["SubDriver"] or None) for r in rows)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class PeakonData:
    """The company's data: answers, employees, drivers and category scores."""

    def __init__(self, *, seed: int, employees: int, company_id: int) -> None:
        self.seed = seed
        self.employee_count = employees
        self.company_id = company_id
        self.catalog = load_catalog()
        # Two scale questions per category plus one free-text question.
        self.questions = [
            (f"{c.id}{n}", c, "scale", f"How would you rate {c.driver.lower()} ({n})?")
            for c in self.catalog
            for n in (1, 2)
        ]
        self.questions.append(("9000001", self.catalog[0], "text", "What should we change?"))
        self._managers: list[int] = [-1]  # each employee's manager in the org chart (the CEO has none)
        self._filling = 0  # the next employee whose team is added to the chart
        self._chart_lock = threading.Lock()

    # -- answers -------------------------------------------------------------------------------
    @staticmethod
    def answer_id(index: int) -> int:
        """Strictly ascending ids with gaps, as real exports have."""
        return ANSWER_ID_BASE + 3 * index + mix(index) % 3

    @staticmethod
    def first_index_after(answer_id: int) -> int:
        """The index of the first answer whose id is larger than `answer_id`."""
        index = max(0, (answer_id - ANSWER_ID_BASE) // 3 - 1)
        while PeakonData.answer_id(index) <= answer_id:
            index += 1
        return index

    def answer(self, index: int, minutes_per_response: int = 7) -> dict[str, Any]:
        h = mix(self.seed, index)
        response = index // ANSWERS_PER_RESPONSE
        rh = mix(self.seed, response, 7)
        employee = rh % self.employee_count
        qid, cat, qtype, qtext = self.questions[(h >> 8) % len(self.questions)]
        answered = EPOCH + dt.timedelta(minutes=response * minutes_per_response + rh % 5)
        round_no = response // 2000
        opens = (EPOCH + dt.timedelta(days=14 * round_no)).date()
        skipped = qtype == "scale" and h % 23 == 0
        score = None if skipped or qtype == "text" else (h >> 20) % 11
        return {
            "id": str(self.answer_id(index)),
            "type": "answers_export",
            "attributes": {
                "accountEmail": self._email(employee),
                "answerId": self.answer_id(index),
                "answerComment": COMMENTS[(h >> 32) % len(COMMENTS)] if h % 7 == 0 else None,
                "answerLocale": LOCALES[rh % len(LOCALES)],
                "answerScore": score,
                "answerSkipReason": SKIP_REASONS[h % 3] if skipped else None,
                "answerText": COMMENTS[(h >> 40) % len(COMMENTS)] if qtype == "text" else None,
                "categoryGroup": "engagement",
                "categoryId": cat.id,
                "categoryStandard": cat.slug,
                "companyId": self.company_id,
                "employeeExternalId": f"EXT-{EMPLOYEE_ID_BASE + employee:06d}",
                "employeeId": str(EMPLOYEE_ID_BASE + employee),
                "questionId": qid,
                "questionText": qtext,
                "questionType": qtype,
                "responseAnsweredAt": _iso(answered),
                "responseId": 500_000 + response,
                "roundEnd": (opens + dt.timedelta(days=7)).isoformat(),
                "roundId": 300 + round_no,
                "roundOpensAt": opens.isoformat(),
                "roundType": "automatic",
                "scheduleContextName": "Company",
                "scheduleId": 77,
            },
        }

    @staticmethod
    def oddify(item: dict[str, Any]) -> dict[str, Any]:
        """What a real export can also hold: a score as text, a field left out, fields the spec never
        mentioned. Clients must store these as received."""
        attrs = item["attributes"]
        attrs["answerScore"] = None if attrs["answerScore"] is None else str(attrs["answerScore"])
        attrs.pop("questionText", None)
        attrs["surveyChannel"] = "slack"
        attrs["extra"] = {"nested": [1, "two", None], "flag": True}
        item["meta"] = {"source": "odd"}
        return item

    HOSTILE_KINDS = ("object id", "array id", "$-prefixed field", "dotted field", "deep nesting")

    @staticmethod
    def hostile(item: dict[str, Any], kind: str) -> dict[str, Any]:
        """What a broken or hostile server could send, which MongoDB would refuse or cannot key."""
        answer_id = item["attributes"]["answerId"]
        if kind == "object id":
            item["id"] = item["attributes"]["answerId"] = {"value": answer_id}
        elif kind == "array id":
            item["id"] = item["attributes"]["answerId"] = [answer_id]
        elif kind == "$-prefixed field":
            item["$where"] = "sleep(1000)"
        elif kind == "dotted field":
            item["answer.score"] = 1
        else:
            deep: dict[str, Any] = {}
            for _ in range(120):
                deep = {"d": deep}
            item["attributes"]["deep"] = deep
        return item

    # -- employees -----------------------------------------------------------------------------
    def _email(self, employee: int) -> str:
        first, last = self._names(employee)
        return f"{first}.{last}.{employee}@example.com".lower()

    def _names(self, employee: int) -> tuple[str, str]:
        h = mix(self.seed, employee, 11)
        return FIRST_NAMES[h % len(FIRST_NAMES)], LAST_NAMES[(h >> 16) % len(LAST_NAMES)]

    def org_manager(self, index: int) -> int | None:
        """The manager of employee `index` in the org chart: filled level by level from the CEO, each
        employee below the top managing nobody or 3-12 people. The same for every employee count."""
        if index == 0:
            return None
        with self._chart_lock:
            while len(self._managers) <= index:
                manager = self._filling
                # The CEO manages; so does the last employee so far, or the chart could stop growing.
                manages = manager in {0, len(self._managers) - 1} or mix(self.seed, manager, 19) % MANAGES_IN >= 4  # noqa: PLR2004
                if manages:
                    self._managers.extend(
                        [manager] * (SPANS[0] + mix(self.seed, manager, 29) % (SPANS[1] - SPANS[0] + 1))
                    )
                self._filling += 1
            return self._managers[index]

    def _chain(self, index: int) -> list[int]:
        """Employee `index` and the managers above, from the CEO down."""
        chain = [index]
        while (manager := self.org_manager(chain[-1])) is not None:
            chain.append(manager)
        return chain[::-1]

    def org_unit(self, index: int) -> tuple[str, str | None]:
        """Department (from the head below the CEO) and sub-department (from the next level)."""
        chain = self._chain(index)
        names = sorted(DEPARTMENTS)
        department = names[chain[1] % len(names)] if len(chain) > 1 else names[0]
        if len(chain) < 3:  # noqa: PLR2004 - the CEO and department heads have no sub-department
            return department, None
        subs = DEPARTMENTS[department]
        return department, subs[chain[2] % len(subs)]

    def employee(self, index: int, version: int = 0) -> dict[str, Any]:
        """Employee `index` as of its `version`-th change (a week's churn: another department and manager)."""
        h = mix(self.seed, index, 13, version) if version else mix(self.seed, index, 13)
        first, last = self._names(index)
        if version:  # moved: a manager hired before them, and that department
            manager: int | None = (h >> 24) % index if index else None
            department, sub = sorted(DEPARTMENTS)[h % len(DEPARTMENTS)], None
            sub = DEPARTMENTS[department][(h >> 8) % len(DEPARTMENTS[department])]
        else:
            manager = self.org_manager(index)
            department, sub = self.org_unit(index)
        item: dict[str, Any] = {
            "type": "employees",
            "id": str(EMPLOYEE_ID_BASE + index),
            "attributes": {
                "identifier": f"EXT-{EMPLOYEE_ID_BASE + index:06d}",
                "firstName": first,
                "lastName": last,
                "name": f"{first} {last}",
                "avatar": f"https://cdn.example.com/avatars/{EMPLOYEE_ID_BASE + index}.png",
                "employmentStart": (EPOCH - dt.timedelta(days=h % 3000)).date().isoformat(),
                "external": h % 29 == 0,
                "Department": department,
                "Sub-Department": sub,
            },
            "relationships": {
                "account": {"data": {"type": "accounts", "id": str(80_000 + index)}},
            },
        }
        if manager is not None:
            orphan = not version and mix(self.seed, index, 23) % ORPHANS_ONE_IN == 0
            # An orphan names a manager who is not an employee (ids below EMPLOYEE_ID_BASE never are).
            manager_id = EMPLOYEE_ID_BASE - 1 - index % 100 if orphan else EMPLOYEE_ID_BASE + manager
            item["relationships"]["manager"] = {"data": {"type": "employees", "id": str(manager_id)}}
        return item

    # -- engagement ----------------------------------------------------------------------------
    def drivers(self) -> list[dict[str, Any]]:
        items = []
        for slug in DRIVER_SLUGS:
            h = mix(self.seed, sum(map(ord, slug)), 17)
            items.append(
                {
                    "type": "engagement_drivers",
                    "id": slug,
                    "attributes": {
                        "driver": slug,
                        "rank": str(1 + h % len(DRIVER_SLUGS)),
                        "classification": ("strength", "neutral", "priority")[h % 3],
                        "impact": ("low", "medium", "high")[(h >> 4) % 3],
                        "scores": {"mean": round(5 + (h % 400) / 100, 2), "nps": int(h % 60) - 10},
                        "changes": {"mean": round(((h >> 9) % 100 - 50) / 100, 2)},
                        "participation": {"rate": round(0.5 + (h >> 12) % 50 / 100, 2)},
                        "url": f"/dashboard/driver/{slug}",
                    },
                }
            )
        return items

    def category_scores(self, group: str) -> list[dict[str, Any]]:
        """Scores of every category in `group` (a category group or a driver slug), per time point."""
        if group in CATEGORY_GROUPS:
            categories = self.catalog if group == "engagement" else self.catalog[:3]
        else:
            categories = tuple(c for c in self.catalog if c.slug == group) or self.catalog[:1]
        items = []
        for cat in categories:
            for t, when in enumerate(SCORE_TIMES):
                h = mix(self.seed, int(cat.id), t, len(group))
                items.append(
                    {
                        "type": "category_scores",
                        "id": cat.id,
                        "attributes": {
                            "grade": ("A", "B", "C", "D")[h % 4],
                            "impact": ("low", "medium", "high")[(h >> 3) % 3],
                            "source": group,
                            "scores": {
                                "time": when,
                                "mean": round(5 + (h % 450) / 100, 2),
                                "nps": int((h >> 10) % 80) - 20,
                                "count": 20 + (h >> 20) % 400,
                            },
                            "participation": {"rate": round(0.6 + (h >> 30) % 40 / 100, 2)},
                        },
                    }
                )
        return items
