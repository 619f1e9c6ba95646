"""Following Peakon's `links.next` (absolute or relative), or `meta.page` numbers where it has none."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

if TYPE_CHECKING:
    from tap_peakon.page import Page


class PaginationLoopError(RuntimeError):
    """`links.next` pointed back at a page already fetched."""


class ForeignLinkError(RuntimeError):
    """`links.next` pointed at another scheme, host or port than the API's: never requested."""


def origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname, parts.port or default


def resolve_link(link: str, request_url: str, base_url: str) -> str:
    """An absolute URL for `link`, relative to the API base: never doubling its `/api/v1` prefix."""
    if urlsplit(link).scheme:
        return link
    if link.startswith("?"):
        return urljoin(request_url, link)
    base = urlsplit(base_url)
    base_path = base.path.rstrip("/")
    if link.startswith("/"):
        if base_path and not link.startswith(base_path + "/"):
            return base_url.rstrip("/") + link
        return urlunsplit((base.scheme, base.netloc, "", "", "")) + link
    return base_url.rstrip("/") + "/" + link


def canonical(url: str) -> str:
    """The URL with its query sorted, so the same page compares equal however it is spelled."""
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path, query, ""))


def with_page_number(url: str, number: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    query.append(("page", str(number)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def next_from_meta(meta: Any, request_url: str) -> str | None:
    page = meta.get("page") if isinstance(meta, dict) else None
    if not isinstance(page, dict):
        return None
    number, total = page.get("number"), page.get("total")
    if isinstance(number, int) and isinstance(total, int) and number < total:
        return with_page_number(request_url, number + 1)
    return None


def next_link(links: Any, meta: Any, request_url: str, base_url: str) -> str | None:
    """The URL a page links to as its next: `links.next` resolved, or `meta.page`'s next number
    when there is no `links.next` at all; None when it names none."""
    link = links.get("next") if isinstance(links, dict) else None
    if isinstance(link, str) and link:
        return resolve_link(link, request_url, base_url)
    if links is None or "next" not in links:
        return next_from_meta(meta, request_url)
    return None


class PeakonPaginator:
    """Decides, from each page read (a Page, handed over by the stream's page loop), the next URL.

    A server that is caught up may answer with a cursor that says "nothing more yet": a next link
    to the page just read, or a page that adds no records the previous page did not have. Both end
    the stream successfully. Only a next link back to an earlier page is a loop, which fails it.
    """

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._seen: set[str] = set()
        self._previous_ids: frozenset[str] = frozenset()

    def get_next(self, page: Page) -> str | None:
        current = canonical(page.url)
        self._seen.add(current)
        ids, previous = page.outline.ids, self._previous_ids
        self._previous_ids = ids
        if ids and ids <= previous:
            return None  # nothing new on this page: the server has nothing more yet
        next_url = page.next_url
        if next_url is None or canonical(next_url) == current:
            return None  # the page just read again: caught up
        if origin(next_url) != origin(self._base_url):
            msg = (
                f"links.next of {urlsplit(page.url).path} points to another host "
                f"({urlsplit(next_url).scheme}://{urlsplit(next_url).netloc}); not followed with our credentials"
            )
            raise ForeignLinkError(msg)
        if canonical(next_url) in self._seen:
            msg = f"pagination loop: links.next of {page.url} points back to {next_url}, already fetched"
            raise PaginationLoopError(msg)
        return next_url
