"""One page of a Peakon listing, read once: its items' bytes, their outline and the next page's URL.

A Page is made once per response and handed on explicitly: to paging (what comes next), to the
record path (its items, decoded) and to the page-file writer (its items' bytes, page_lines). Nothing
else keeps a view of a response. A page of answers is never decoded whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec
from singer_sdk.exceptions import FatalAPIError

from tap_peakon.page_lines import raw_items
from tap_peakon.pagination import next_link


class UnparseableBodyError(ValueError):
    """A body (or an item of it) that is not JSON: retried as a 5xx would be, where it is read."""


class NotAPageError(FatalAPIError):
    """JSON, but not a JSON:API document with a `data` array: the same request would bring it again."""


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


class _Ids(msgspec.Struct):
    data: list[_Item]


_ids_decoder = msgspec.json.Decoder(_Ids)


def document(url: str, body: bytes) -> Any:
    """A JSON body, decoded (msgspec: the fastest decoder we have)."""
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as err:
        msg = f"could not parse the JSON body of {url}: {err}"
        raise UnparseableBodyError(msg) from None


@dataclass(frozen=True, slots=True)
class Page:
    """A page as read: where from, when, how long it took, its items' bytes, outline and next URL."""

    url: str
    fetched_at: str  # ISO 8601, UTC: every record of the page carries it
    elapsed: float  # seconds the server took to answer
    items: list[msgspec.Raw]  # each item's bytes as the server sent them
    outline: Outline
    next_url: str | None  # the page's own next link (links.next resolved, or meta.page's next): paging decides

    @classmethod
    def read(cls, url: str, body: bytes, base_url: str, *, fetched_at: str, elapsed: float) -> Page:
        """The page in `body`. Raises UnparseableBodyError when it is not JSON (an item included),
        NotAPageError when it is no JSON:API document with a data array."""
        try:
            raw = raw_items(body)
        except msgspec.DecodeError as err:
            msg = f"could not parse the JSON body of {url}: {err}"
            raise UnparseableBodyError(msg) from None
        if raw is None:
            msg = f"{url}: expected a JSON:API document with a data array"
            raise NotAPageError(msg)
        try:  # the ids alone: every other field is skipped
            ids: Iterable[Any] = (item.id for item in _ids_decoder.decode(body).data)
        except msgspec.DecodeError:  # an item that is no object, or a value msgspec refuses
            ids = [item.get("id") for item in decoded(url, raw.data) if isinstance(item, dict)]
        outline = Outline.of(ids, raw.links, raw.meta)
        return cls(url, fetched_at, elapsed, raw.data, outline, next_link(raw.links, raw.meta, url, base_url))

    @classmethod
    def empty(cls, url: str, *, fetched_at: str, elapsed: float) -> Page:
        """A page without items nor next link (a refusal the stream's error policy ignores)."""
        return cls(url, fetched_at, elapsed, [], Outline(frozenset(), None, None), None)

    def decoded(self) -> Iterator[Any]:
        """The items, decoded: the record path's view of the page."""
        return decoded(self.url, self.items)

    def decode(self, item: msgspec.Raw) -> Any:
        """One of the page's items, decoded."""
        return decode(self.url, item)


def decode(url: str, item: msgspec.Raw) -> Any:
    try:
        return msgspec.json.decode(item)
    except msgspec.DecodeError as err:
        msg = f"could not parse an item of {url}: {err}"
        raise UnparseableBodyError(msg) from None


def decoded(url: str, items: Iterable[msgspec.Raw]) -> Iterator[Any]:
    return (decode(url, item) for item in items)
