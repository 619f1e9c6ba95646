"""The base REST stream for Peakon: auth, paging, error policy, retries, limiter, record envelope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar
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
from tap_peakon.documents import UnparseableBodyError, document
from tap_peakon.error_policy import POLICY, Action, Policy, action_for, exponential_wait, parse_retry_after
from tap_peakon.pagination import PeakonPaginator
from tap_peakon.table_versions import VersionedStream

if TYPE_CHECKING:
    from backoff._typing import Details
    from singer_sdk.helpers.types import Context

    from tap_peakon.auth import PeakonAuthenticator
    from tap_peakon.run_summary import RunStats
    from tap_peakon.tap import TapPeakon


RequestFunc = Callable[[requests.PreparedRequest, "Context | None"], requests.Response]


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
    def get_new_paginator(self) -> PeakonPaginator:
        return PeakonPaginator(self.url_base)

    @override
    def get_http_request(self, *, page: PageContext[str | None]) -> HTTPRequest:
        if page.next_page_token:  # the next URL carries its own query
            return HTTPRequest(url=page.next_page_token, method="GET", headers=self.http_headers)
        return super().get_http_request(page=page)

    # -- requests, retries and the error policy ------------------------------------------------
    @override
    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        def limited(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
            self.peakon.before_request()
            return func(prepared, context)

        return super().request_decorator(limited)

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
        try:
            self.check_body(response)
        except UnparseableBodyError as err:
            raise RetriableAPIError(str(err), response) from None

    def check_body(self, response: requests.Response) -> None:
        """Raise UnparseableBodyError unless the body is what `parse_response` can read (decoded once)."""
        document(response)

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
            error if isinstance(error, RetriableAPIError) else type(error).__name__,
        )

    # -- records -------------------------------------------------------------------------------
    def record_key(self, item: dict[str, Any], context: Context | None) -> Any:  # noqa: ARG002 - a hook
        return item.get("id")

    def items(self, response: requests.Response) -> list[Any]:
        if self.action(response) is Action.IGNORE:
            return []
        doc = document(response)
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, list):
            msg = f"{response.url}: expected a JSON:API document with a data array"
            raise FatalAPIError(msg)
        return data

    def note_page(self, response: requests.Response, records: int) -> None:
        page = self.stats.pages_by_stream[self.name] = self.stats.pages_by_stream.get(self.name, 0) + 1
        self.logger.info("%s page %d: %d records in %.2fs", self.name, page, records, response.elapsed.total_seconds())

    def envelope(self, response: requests.Response) -> dict[str, Any]:
        """The fields every record of this response gets: when, by which run and from where it was read."""
        return names.envelope(dt.datetime.now(dt.UTC).isoformat(), self.peakon.run_id, self.name, response.url)

    def enveloped(self, item: Any, envelope: dict[str, Any]) -> dict[str, Any] | None:
        """The item with its envelope, or None (logged) when it is not a JSON:API resource."""
        if not isinstance(item, dict):  # say so rather than drop it quietly
            self.logger.warning("%s: skipped a data item that is not an object (%s)", self.name, type(item).__name__)
            return None
        item.update(envelope)
        return item

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        items = self.items(response)
        self.note_page(response, len(items))
        envelope = self.envelope(response)
        for item in items:
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
