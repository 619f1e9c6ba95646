"""The release layer: every published figure is a sum of whole atoms of at least k respondents.

`Figure` and `explain` say which answers (or employees) each published figure counts; tests and
audits use them, the build does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pymongo.database import Database


@dataclass(frozen=True)
class Figure:
    """A published row and what it counts."""

    mart: str  # "manager_question" | "driver_segment" | "participation"
    row: Mapping[str, Any]  # as published in mart_<mart> (without _id), or as `export --from/--to` writes it
    members: frozenset[Any]  # answers_export `_id`s counted; participation: the employee keys in `employees`
    respondents: frozenset[Any] = frozenset()  # participation only: the employee keys in `respondents`


def explain(db: Database[dict[str, Any]], ranges: Iterable[tuple[str, str]] = ()) -> list[Figure]:
    """Every figure currently published in the mart_* collections, plus the given (first, last) month
    ranges as export would compute them, each with the answers (or employees) it counts. For tests and
    audits only: it recomputes from the stored answers and the private state."""
    raise NotImplementedError((db, list(ranges)))
