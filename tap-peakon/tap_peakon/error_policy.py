"""What an HTTP response means (the policy) and how long to wait before retrying (the wait).

Kept apart as in Airbyte's CDK: the policy is data, looked up by status; waits are small functions.
"""

from __future__ import annotations

import email.utils
import enum
import random
import time
from collections.abc import Mapping
from http import HTTPStatus


class Action(enum.Enum):
    OK = "ok"
    RETRY = "retry"  # transient: back off and try again
    RATE_LIMITED = "rate_limited"  # retry after Retry-After when given, else back off
    REAUTHENTICATE = "reauthenticate"  # the bearer token expired: exchange again, retry once
    IGNORE = "ignore"  # an expected refusal: the request yields no records, the stream goes on
    FAIL = "fail"


Policy = Mapping[int, Action]
POLICY: Policy = {
    HTTPStatus.UNAUTHORIZED: Action.REAUTHENTICATE,
    HTTPStatus.REQUEST_TIMEOUT: Action.RETRY,
    HTTPStatus.TOO_MANY_REQUESTS: Action.RATE_LIMITED,
}


def action_for(status: int, policy: Policy = POLICY) -> Action:
    """What `status` means under `policy` (a stream's table, the defaults below it)."""
    if status in policy:
        return policy[status]
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return Action.RETRY
    if status >= HTTPStatus.MULTIPLE_CHOICES:  # 4xx, and redirects: never followed with our credentials
        return Action.FAIL
    return Action.OK


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date; None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, float(when.timestamp()) - (time.time() if now is None else now))


def exponential_wait(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, so clients spread out."""
    ceiling = min(cap, base * 2.0 ** max(0, attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not cryptography
