"""SCHEDULE_CRON as supercronic reads it, and CRON_TZ: when the next runs are, and how far apart.

supercronic accepts 5 fields (minute to weekday), 6 (a year added) and 7 (a second first), and the
shorthands `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`. Times are
in CRON_TZ (default UTC), daylight saving included: `0 3 * * 1` in Europe/Copenhagen is 03:00 local
time all year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

SHORTHANDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
FIVE, SIX, SEVEN = 5, 6, 7
SCHEDULE_HELP = (
    "expected a cron expression as supercronic reads it: 5 to 7 fields ('0 3 * * 1') or @weekly, @daily, ..."
)
_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
FIELD_NAMES = {FIVE: _FIELDS, SIX: (*_FIELDS, "year"), SEVEN: ("second", *_FIELDS, "year")}


def zone(name: str | None) -> ZoneInfo:
    """An IANA time zone (`Europe/Copenhagen`), UTC when none is named."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        msg = "expected an IANA time zone such as Europe/Copenhagen"  # the caller shows what it got
        raise ValueError(msg) from None


@dataclass(frozen=True)
class Schedule:
    expression: str
    tz: ZoneInfo

    @classmethod
    def parse(cls, expression: str, tz: ZoneInfo) -> Schedule:
        schedule = cls(expression.strip(), tz)
        if not schedule.valid():
            raise ValueError(f"{schedule.fault()}; {SCHEDULE_HELP}")
        return schedule

    def valid(self) -> bool:
        try:
            self.after(dt.datetime.now(dt.UTC))
        except (ValueError, KeyError, TypeError):
            return False
        return True

    def fault(self) -> str:
        """Which field is at fault: each is tried alone, the others `*`."""
        if self.expression.startswith("@"):
            return f"unknown shorthand {self.expression!r}"
        fields = self.expression.split()
        names = FIELD_NAMES.get(len(fields))
        if names is None:
            return f"{len(fields)} field{'s' * (len(fields) != 1)}"
        for position, (name, value) in enumerate(zip(names, fields, strict=True)):
            alone = ["*"] * len(fields)
            alone[position] = value
            if not Schedule(" ".join(alone), self.tz).valid():
                return f"the {name} field {value!r} is not valid"
        return "no time matches all the fields"  # e.g. 30 February: each field fine, none together

    def _iterator(self, start: dt.datetime) -> croniter:
        text = SHORTHANDS.get(self.expression.lower(), self.expression)
        fields = text.split()
        if len(fields) == SIX:  # minute .. weekday, year: as seven fields with second 0
            fields = ["0", *fields]
        if len(fields) not in {FIVE, SEVEN}:
            raise ValueError(SCHEDULE_HELP)
        return croniter(" ".join(fields), start.astimezone(self.tz), second_at_beginning=len(fields) == SEVEN)

    def after(self, moment: dt.datetime) -> dt.datetime:
        """The first run after `moment`, in the schedule's zone."""
        nxt: dt.datetime = self._iterator(moment).get_next(dt.datetime)
        return nxt

    def interval(self, moment: dt.datetime) -> dt.timedelta:
        """How far apart the runs after `moment` are (the gap between the next two)."""
        iterator = self._iterator(moment)
        first: dt.datetime = iterator.get_next(dt.datetime)
        second: dt.datetime = iterator.get_next(dt.datetime)
        return second.astimezone(dt.UTC) - first.astimezone(dt.UTC)  # real time, across a clock change
