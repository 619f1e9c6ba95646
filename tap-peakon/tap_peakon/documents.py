"""Decoding a response body once, and sharing it between validation, paging and parsing.

Three views of a body, each made on first use: the whole document; its outline (item ids, links,
meta: what paging needs); its items as bytes (page_lines). A page of answers is never decoded whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, TypeVar
from weakref import WeakKeyDictionary

import msgspec
import requests

from tap_peakon.page_lines import RawPage, raw_items

T = TypeVar("T")


class UnparseableBodyError(ValueError):
    pass


class Outline(NamedTuple):
    """What paging needs of a page: its items' ids (as text: a server may send 7 or "7"), links, meta."""

    ids: frozenset[str]
    links: Any
    meta: Any

    @classmethod
    def of(cls, ids: Iterable[Any], links: Any, meta: Any) -> Outline:
        """The outline of a page with these item ids as sent (an item without one is left out)."""
        return cls(frozenset(str(i) for i in ids if i is not None), links, meta)


class _Item(msgspec.Struct):
    id: Any = None


class _Outline(msgspec.Struct):
    data: list[_Item] | None = None
    links: Any = None
    meta: Any = None


_outline_decoder = msgspec.json.Decoder(_Outline)
_views: dict[str, WeakKeyDictionary[requests.Response, Any]] = {}


def _cache(name: str) -> WeakKeyDictionary[requests.Response, Any]:
    """The responses' views of one kind, each kept while its response lives."""
    return _views.setdefault(name, WeakKeyDictionary())


def _view(response: requests.Response, name: str, make: Callable[[bytes], T]) -> T:
    """`make(body)`, once per response; a body that is not JSON is an UnparseableBodyError."""
    views = _cache(name)
    if response not in views:
        try:
            views[response] = make(response.content)
        except msgspec.DecodeError as err:
            msg = f"could not parse the JSON body of {response.url}: {err}"
            raise UnparseableBodyError(msg) from None
    result: T = views[response]
    return result


def document(response: requests.Response) -> Any:
    """The response's JSON document (msgspec: the fastest decoder we have)."""
    return _view(response, "document", msgspec.json.decode)


def items_as_bytes(response: requests.Response) -> RawPage | None:
    """The page's items, each as its bytes, with its links and meta; None when the body is not a JSON:API page."""
    return _view(response, "items", raw_items)


def keep_outline(response: requests.Response, page: Outline) -> None:
    """The outline of a page its reader went through item by item: paging then reads nothing again."""
    _cache("outline")[response] = page


def outline(response: requests.Response) -> Outline:
    """The page's outline: kept by its reader, or from the decoded document, or read on its own
    (which skips the items' other fields)."""
    return _view(response, "outline", lambda body: _read_outline(response, body))


def _read_outline(response: requests.Response, body: bytes) -> Outline:
    if response not in _views.get("document", ()):
        try:
            light = _outline_decoder.decode(body)
        except msgspec.DecodeError:
            light = None  # not this shape (an item that is no object), or not JSON: the whole document says
        if light is not None:
            return Outline.of((item.id for item in light.data or ()), light.links, light.meta)
    doc = document(response)
    if not isinstance(doc, dict):
        return Outline(frozenset(), None, None)
    data = doc.get("data")
    items = data if isinstance(data, list) else ()
    return Outline.of((item.get("id") for item in items if isinstance(item, dict)), doc.get("links"), doc.get("meta"))
