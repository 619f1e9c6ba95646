"""A requests session that refuses bodies larger than a cap, counted after decompression, and
bodies still arriving when the request's time is up.

A small gzip body can expand to hundreds of megabytes; reading it whole would exhaust memory before
anything could check it. The body is read in chunks, decompressed, and given up past the cap.

requests' timeout bounds each socket read, not a request: a server sending a byte every few seconds
would hold a run forever. Here the whole exchange, body included, ends within the timeout (plus at
most one read's wait): past it the response is a timeout, retried like any network failure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from singer_sdk.exceptions import FatalAPIError

CHUNK_BYTES = 1 << 20


class ResponseTooLargeError(FatalAPIError):
    """A response body past `max_response_bytes`: not retried, the same request would bring it again."""


class CappedSession(requests.Session):
    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["stream"] = True
        seconds = _seconds(kwargs.get("timeout"))
        deadline = None if seconds is None else time.monotonic() + seconds
        response = super().send(request, **kwargs)
        chunks, size = [], 0
        for chunk in _body(response, deadline, seconds):  # decompressed as it arrives
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                response.close()
                path = urlsplit(response.url).path
                msg = f"the response from {path} is larger than max_response_bytes ({self.max_bytes} bytes)"
                raise ResponseTooLargeError(msg)
        # requests keeps a read body here; nothing public sets it, and every reader (.content, .json,
        # .text) reads it from there.
        response._content = b"".join(chunks)  # noqa: SLF001 - one copy of a page of several megabytes
        return response


def _seconds(timeout: Any) -> float | None:
    """The whole exchange's time from requests' `timeout` (seconds, or (connect, read))."""
    if isinstance(timeout, tuple):
        timeout = timeout[-1]
    return None if timeout is None else float(timeout)


def _body(response: requests.Response, deadline: float | None, seconds: float | None) -> Iterator[bytes]:
    """The body as it arrives, decompressed; a ReadTimeout once `deadline` has passed. Each read
    returns what has arrived (read1), so a trickle cannot keep one read waiting for a whole chunk."""
    if deadline is None:
        yield from response.iter_content(CHUNK_BYTES)
        return
    raw: urllib3.HTTPResponse = response.raw
    while True:
        if time.monotonic() > deadline:
            response.close()
            msg = f"the response from {urlsplit(response.url).path} was still arriving after {seconds:g}s"
            raise requests.exceptions.ReadTimeout(msg, request=response.request)
        try:
            chunk = raw.read1(CHUNK_BYTES, decode_content=True)
        except urllib3.exceptions.ReadTimeoutError as err:  # as requests' own reads name them
            raise requests.exceptions.ReadTimeout(err, request=response.request) from err
        except urllib3.exceptions.ProtocolError as err:
            raise requests.exceptions.ChunkedEncodingError(err) from err
        except urllib3.exceptions.DecodeError as err:
            raise requests.exceptions.ContentDecodingError(err) from err
        if not chunk:
            return
        yield chunk
