"""The base REST stream for Peakon: auth, its page loop, error policy, retries, limiter, record envelope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit
from weakref import WeakSet

import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers._batch import BatchConfig
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.streams.rest import HTTPRequest, PageContext
from typing_extensions import override

from tap_peakon import names
from tap_peakon.error_policy import POLICY, Action, Policy, action_for, exponential_wait, parse_retry_after
from tap_peakon.network import NETWORK_ERRORS, failure, unreachable
from tap_peakon.page import Page, UnparseableBodyError
from tap_peakon.pagination import PeakonPaginator
from tap_peakon.table_versions import VersionedStream

if TYPE_CHECKING:
    from backoff._typing import Details
    from singer_sdk.helpers.types import Context

    from tap_peakon.auth import PeakonAuthenticator
    from tap_peakon.run_summary import RunStats
    from tap_peakon.tap import TapPeakon


T = TypeVar("T")
# One attempt at a request: sent, checked and read (into a response, a Page, a count).
Attempt = Callable[[requests.PreparedRequest, "Context | None"], T]


class RetryAfterError(RetriableAPIError):
    """A retriable response that says how long to wait."""

    def __init__(self, message: str, response: requests.Response, wait: float) -> None:
        super().__init__(message, response)
        self.wait = wait


class PeakonStream(VersionedStream, RESTStream[str | None]):
    primary_keys: ClassVar[list[str]] = ["_id"]
    # What each HTTP status means for this stream; statuses not listed follow `action_for`'s rules.
    http_errors: ClassVar[Policy] = POLICY
    # A redirect would carry the bearer token wherever it points: it fails the stream instead.
    allow_redirects = False
    # Records pass through as the API sent them; the permissive schemas describe, not coerce.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapPeakon) -> None:
        super().__init__(tap)
        self.peakon = tap  # the SDK keeps its tap in a private attribute only

    @property
    def stats(self) -> RunStats:
        return self.peakon.stats

    @property
    @override
    def url_base(self) -> str:
        return str(self.config["base_url"]).rstrip("/")

    @property
    @override
    def requests_session(self) -> requests.Session:
        return self.peakon.session

    @property
    @override
    def authenticator(self) -> PeakonAuthenticator:
        return self.peakon.authenticator

    @property
    @override
    def timeout(self) -> float:  # type: ignore[override] # requests takes fractions of a second
        return float(self.config["timeout_seconds"])

    # Streams whose `attributes` hold tenant-defined fields (HR attributes under their display names):
    # new ones there are expected, not schema drift.
    custom_attributes: ClassVar[bool] = False

    # Streams that write their own batch files (`get_batches`) when the tap has a `batch_config`.
    sends_batches: ClassVar[bool] = False

    @override
    def get_batch_config(self, config: Mapping[str, Any]) -> BatchConfig | None:
        """BATCH mode only for streams that write their own files, and only while records pass
        through unchanged (an alias only renames the messages): a user's own stream maps, and
        flattening, work on the record path."""
        plain = all(type(m) is SameRecordTransform and not m.flattening_enabled for m in self.stream_maps)
        return super().get_batch_config(config) if self.sends_batches and plain else None

    @override
    def get_http_request(self, *, page: PageContext[str | None]) -> HTTPRequest:
        if page.next_page_token:  # the next URL carries its own query
            return HTTPRequest(url=page.next_page_token, method="GET", headers=self.http_headers)
        return super().get_http_request(page=page)

    # -- the page loop: one Page per response, handed to paging and to the records ---------------
    # The SDK's loop hands each response to parse_response and then to the paginator, which would
    # each read the body again; ours reads it once into a Page and hands that on.
    @override
    def request_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Every page's records: a page without any ends the stream, as in the SDK's loop."""
        for page in self.pages(context):
            records = self.page_records(page)
            first = next(records, None)
            if first is None:
                return
            yield first
            yield from records

    def pages(self, context: Context | None) -> Iterator[Page]:
        """The stream's pages in order, each read once; the next is requested when this one is done."""
        paginator = PeakonPaginator(self.url_base)
        url: str | None = None
        with self.get_http_request_counter() as counter:
            counter.with_context(context)
            while True:
                page = self.fetch(self.page_request(context, url), context, self.read_page)
                counter.increment()
                self.note_page(page)
                yield page
                url = paginator.get_next(page)
                if url is None:
                    return

    @override
    def build_prepared_request(self, *args: Any, **kwargs: Any) -> requests.PreparedRequest:
        """The SDK's, without authenticating here: `_request` authenticates each try, inside the
        retries, so a token exchange that meets an unreachable server is retried like any request."""
        request = requests.Request(*args, **kwargs)
        request.headers.setdefault("User-Agent", self.user_agent)
        return self.requests_session.prepare_request(request)

    def page_request(self, context: Context | None, url: str | None) -> requests.PreparedRequest:
        """The request for the page at `url` (None: the first page), from the SDK's public hooks."""
        http = self.get_http_request(page=PageContext(stream_context=context, next_page_token=url))
        return self.build_prepared_request(
            method=http.method, url=http.url, params=http.encode_params(), headers=http.headers
        )

    def read_page(self, response: requests.Response) -> Page:
        """The response as a Page; a refusal the error policy ignores is a page without items."""
        fetched_at = dt.datetime.now(dt.UTC).isoformat()
        elapsed = response.elapsed.total_seconds()
        if self.action(response) is Action.IGNORE:
            return Page.empty(response.url, fetched_at=fetched_at, elapsed=elapsed)
        return Page.read(response.url, response.content, self.url_base, fetched_at=fetched_at, elapsed=elapsed)

    # -- requests, retries and the error policy ------------------------------------------------
    def fetch(
        self, request: requests.PreparedRequest, context: Context | None, read: Callable[[requests.Response], T]
    ) -> T:
        """`request` sent (budget, auth, error policy, retries) and its response read by `read`: a body
        that does not parse, or no whole answer at all (network failures), is retried as a 5xx is."""

        def attempt(prepared: requests.PreparedRequest, context: Context | None) -> T:
            # Private in the SDK: its send, with the request metrics and validate_response
            # (tests/test_sdk_contract.py guards it).
            response = self._request(prepared, context)
            try:
                return read(response)
            except UnparseableBodyError as err:
                raise RetriableAPIError(str(err), response) from None

        try:
            return self.request_decorator(attempt)(request, context)
        except NETWORK_ERRORS as err:
            raise unreachable(request.url or self.url_base, self.backoff_max_tries(), err) from err

    @override
    def request_decorator(self, func: Attempt[T]) -> Attempt[T]:
        """The SDK's retries around an attempt (which may return what it read, not only a response);
        every try counts against the hourly budget."""

        def limited(prepared: requests.PreparedRequest, context: Context | None) -> T:
            self.peakon.before_request()
            return func(prepared, context)

        retried: Attempt[T] = super().request_decorator(limited)  # type: ignore[arg-type,assignment]
        return retried

    def action(self, response: requests.Response) -> Action:
        return action_for(response.status_code, self.http_errors)

    @override
    def validate_response(self, response: requests.Response) -> None:
        action = self.action(response)
        path = urlsplit(response.url).path
        request_id = response.headers.get("X-Request-Id")
        where = f"{path}" + (f" (request id {request_id})" if request_id else "")
        if action is Action.IGNORE:
            ignored = self.stats.ignored[self.name]
            if path not in ignored:
                ignored.add(path)
                self.logger.info("%s: HTTP %d from %s; skipped", self.name, response.status_code, where)
            return
        if action is Action.REAUTHENTICATE:
            self._reauthenticate(response, where)
        if action is Action.RATE_LIMITED:
            self._rate_limited(response, where)
        if action is Action.RETRY:
            msg = f"HTTP {response.status_code} from {where}"
            raise RetriableAPIError(msg, response)
        if action is Action.FAIL:
            msg = f"HTTP {response.status_code} from {where}"  # never the body: it may hold anything
            raise FatalAPIError(msg)

    # Requests already retried after a re-authentication: a second 401 for one of them is fatal.
    _reauthenticated: ClassVar[WeakSet[requests.PreparedRequest]] = WeakSet()

    def _reauthenticate(self, response: requests.Response, where: str) -> None:
        """A 401: exchange the application token again, and retry this request once."""
        request = response.request
        if request in self._reauthenticated or not self.authenticator.can_renew:
            msg = f"HTTP 401 from {where} even with a fresh bearer token: check the application token's access"
            raise FatalAPIError(msg)
        self._reauthenticated.add(request)
        self.authenticator.invalidate()
        msg = f"HTTP 401 from {where}: bearer token expired, authenticating again"
        raise RetryAfterError(msg, response, wait=0.0)

    def _rate_limited(self, response: requests.Response, where: str) -> None:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        cap = float(self.config["max_retry_wait_seconds"])
        if wait is None:
            msg = f"HTTP 429 from {where} without Retry-After"
            raise RetriableAPIError(msg, response)
        if wait > cap:
            msg = f"HTTP 429 from {where}: Retry-After of {wait:.0f}s exceeds max_retry_wait_seconds ({cap:.0f}s)"
            raise FatalAPIError(msg)
        msg = f"HTTP 429 from {where}: Retry-After {wait:.0f}s"
        raise RetryAfterError(msg, response, wait=wait)

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """Waits chosen per failure: Retry-After when the server gave one, else exponential + jitter."""
        base = float(self.config["backoff_base_seconds"])
        cap = float(self.config["max_retry_wait_seconds"])
        attempt = 0
        error = yield 0.0  # backoff primes the generator, then sends each exception
        while True:
            attempt += 1
            wait = error.wait if isinstance(error, RetryAfterError) else exponential_wait(attempt, base, cap)
            error = yield wait

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config["max_retries"]) + 1

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # jitter is part of exponential_wait; Retry-After is honoured as given

    @override
    def backoff_handler(self, details: Details) -> None:
        self.stats.retry_waits.append(float(details.get("wait") or 0.0))
        error = details.get("exception")
        self.logger.warning(
            "%s: retry %d in %.1fs after %s",
            self.name,
            details.get("tries", 0),
            details.get("wait") or 0.0,
            error if isinstance(error, RetriableAPIError) else failure(error) if error else "?",
        )

    # -- records -------------------------------------------------------------------------------
    def record_key(self, item: dict[str, Any], context: Context | None) -> Any:  # noqa: ARG002 - a hook
        return item.get("id")

    def note_page(self, page: Page) -> None:
        number = self.stats.pages_by_stream[self.name] = self.stats.pages_by_stream.get(self.name, 0) + 1
        self.logger.info("%s page %d: %d records in %.2fs", self.name, number, len(page.items), page.elapsed)

    def envelope(self, page: Page) -> dict[str, Any]:
        """The fields every record of this page gets: when, by which run and from where it was read."""
        return names.envelope(page.fetched_at, self.peakon.run_id, self.name, page.url)

    def enveloped(self, item: Any, envelope: dict[str, Any]) -> dict[str, Any] | None:
        """The item with its envelope, or None (logged) when it is not a JSON:API resource."""
        if not isinstance(item, dict):  # say so rather than drop it quietly
            self.logger.warning("%s: skipped a data item that is not an object (%s)", self.name, type(item).__name__)
            return None
        item.update(envelope)
        return item

    def page_records(self, page: Page) -> Iterator[dict[str, Any]]:
        """The record path: the page's items decoded, each with the page's envelope."""
        envelope = self.envelope(page)
        for item in page.decoded():
            record = self.enveloped(item, envelope)
            if record is not None:
                yield record

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        """A stream's own shaping first (its key, its bookmark), then redaction and pseudonyms: on
        the record and the page-file path alike, before anything leaves the tap."""
        return self.peakon.privacy.apply(self.name, self.shape(row, context))

    def shape(self, row: dict[str, Any], context: Context | None) -> dict[str, Any]:
        """The record as this stream emits it, before privacy rules apply (streams extend this)."""
        self.note_drift(row)
        row["_id"] = self.record_key(row, context)
        return row

    @cached_property
    def described(self) -> tuple[frozenset[str], frozenset[str]]:
        """The top-level fields and the `attributes` fields the stream's schema describes."""
        properties = self.schema.get("properties", {})
        attributes = (properties.get("attributes") or {}).get("properties", {})
        return frozenset(properties), frozenset(attributes)

    def note_drift(self, row: dict[str, Any]) -> None:
        """Count fields the schema does not describe (Peakon added one), logging each once per run."""
        top, attributes = self.described
        inner = row.get("attributes")
        checked = inner if isinstance(inner, dict) and not self.custom_attributes else {}
        if top.issuperset(row) and attributes.issuperset(checked):  # nearly every record: no set is built
            return
        unknown = [*(row.keys() - top), *(f"attributes.{name}" for name in checked.keys() - attributes)]
        drift = self.stats.schema_drift[self.name]
        for path in unknown:
            if path not in drift:
                self.logger.warning(
                    "%s: field %s is not in the schema (schema drift); stored as received", self.name, path
                )
            drift[path] = drift.get(path, 0) + 1
