"""Network failures (no answer at all, or one cut short): retried like a 5xx, then named in words.

The SDK's retries already catch requests' connection errors and timeouts; what it lacks is a last
error a person can act on: urllib3's "Max retries exceeded ... NewConnectionError(...)" names
neither the cause in words nor the setting to check.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests
import urllib3

# What a try can end with when no whole response arrived; each is retried (the SDK's list has them).
NETWORK_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
)


class UnreachableError(RuntimeError):
    """The API did not answer, or never whole, on any try; `setting` is the one to check."""

    setting = "base_url"


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it wraps: requests wraps urllib3's MaxRetryError, whose `reason` wraps the
    socket's error."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        wrapped = [arg for arg in current.args if isinstance(arg, BaseException)]
        pending += [current.__cause__, current.__context__, *wrapped]
        if isinstance(reason, BaseException):
            pending.append(reason)


def failure(error: BaseException) -> str:
    """What went wrong, in words: connection refused, connection reset, name not resolved, timed out."""
    causes = list(_causes(error))
    kinds: list[tuple[type[BaseException] | tuple[type[BaseException], ...], str]] = [
        ((socket.gaierror, urllib3.exceptions.NameResolutionError), "name not resolved (DNS)"),
        (ConnectionRefusedError, "connection refused"),
        (ConnectionResetError, "connection reset"),
        ((requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError), "response cut short"),
        # Last: urllib3's connection errors are timeouts too (NewConnectionError is a ConnectTimeoutError).
        ((requests.exceptions.Timeout, TimeoutError, urllib3.exceptions.TimeoutError), "timed out"),
    ]
    for kind, words in kinds:
        if any(isinstance(cause, kind) for cause in causes):
            return words
    return type(error).__name__


def unreachable(url: str, tries: int, error: BaseException) -> UnreachableError:
    """The error after the last try: the host (never a path, query or credential) and the cause,
    naming the setting to check."""
    host = urlsplit(url).netloc.rpartition("@")[2]
    return UnreachableError(
        f"unreachable after {tries} tries: {host}: {failure(error)} (check {UnreachableError.setting})"
    )
