"""Decoding a response body once, and sharing it between validation, paging and parsing."""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

import msgspec
import requests

_decoded: WeakKeyDictionary[requests.Response, Any] = WeakKeyDictionary()


class UnparseableBodyError(ValueError):
    pass


def document(response: requests.Response) -> Any:
    """The response's JSON document, decoded on first use (msgspec: the fastest decoder we have)."""
    if response not in _decoded:
        try:
            _decoded[response] = msgspec.json.decode(response.content)
        except msgspec.DecodeError as err:
            msg = f"could not parse the JSON body of {response.url}: {err}"
            raise UnparseableBodyError(msg) from None
    return _decoded[response]
