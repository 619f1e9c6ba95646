"""A client-side limiter that keeps the tap under Peakon's hourly request limit."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 3600.0


class HourlyLimiter:
    """At most `per_hour` requests in any sliding hour; `acquire` waits for a free slot."""

    def __init__(
        self,
        per_hour: int,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if per_hour < 1:
            raise ValueError("max_requests_per_hour must be at least 1")
        self.per_hour = per_hour
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()

    def acquire(self) -> None:
        clock, sleep = self._clock or time.monotonic, self._sleep or time.sleep
        now = clock()
        while self._sent and now - self._sent[0] >= WINDOW_SECONDS:
            self._sent.popleft()
        if len(self._sent) >= self.per_hour:
            wait = WINDOW_SECONDS - (now - self._sent[0])
            sleep(wait)
            self._sent.popleft()
            now = clock()
        self._sent.append(now)
