"""What configures the marts and what they are called, apart from the code that computes them: the
operator's settings and reports need these, and an ingest should not load Polars to start."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "mart_"  # every mart's collection: mart_<name>
NAMES = ("org", "manager_question", "driver_segment", "participation", "release")
DEFAULT_SEGMENTS = ("Department", "Sub-Department")
DEFAULT_GRACE_DAYS = 14


@dataclass(frozen=True)
class Options:
    min_respondents: int
    segments: tuple[str, ...] = DEFAULT_SEGMENTS
    grace_days: int = DEFAULT_GRACE_DAYS  # a month is released this many days after it ends
    pseudonymous: bool = False  # employee ids are pseudonyms: no mart shows a name beside one


class MartsConfigError(ValueError):
    """A marts setting does not fit what is stored; the message names the variable (exit 2)."""
