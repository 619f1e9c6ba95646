"""A requests session that refuses bodies larger than a cap, counted after decompression.

A small gzip body can expand to hundreds of megabytes; reading it whole would exhaust memory before
anything could check it. The body is read in chunks, decompressed, and given up past the cap.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
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
        response = super().send(request, **kwargs)
        chunks, size = [], 0
        for chunk in response.iter_content(CHUNK_BYTES):  # decompressed as it arrives
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
