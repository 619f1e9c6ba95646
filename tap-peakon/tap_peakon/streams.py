"""One class per Peakon endpoint: name, path, key, bookmark and schema."""

from __future__ import annotations

import copy
import csv
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.schema.source import SchemaDirectory, StreamSchema
from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE
from typing_extensions import override

from tap_peakon.batches import encode_lines, wait_for_room, write_batch
from tap_peakon.catalog_rules import TENANT_DEFINED
from tap_peakon.client import PeakonStream
from tap_peakon.error_policy import POLICY, Action
from tap_peakon.keys import ANSWER_KEY_FIELD, answer_key, answer_key_of, as_int_or_self, score_key
from tap_peakon.names import ENVELOPE_FIELDS, READ_UP_TO, envelope
from tap_peakon.page import Page, document
from tap_peakon.page_lines import ItemLines, envelope_bytes, line
from tap_peakon.schema_derivation import described_by
from tap_peakon.table_versions import VersionedStream

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_peakon.tap import TapPeakon


# Each stream's schema is schemas/<stream name>.json (derived from Peakon's spec: schema_derivation.py).
SCHEMAS = StreamSchema(SchemaDirectory(resources.files("tap_peakon").joinpath("schemas")))


def is_bookmark(key: Any) -> bool:
    """Whether an answer's key can be a bookmark: an integer (answer ids are)."""
    return isinstance(key, int) and not isinstance(key, bool)


# The largest `per_page` Peakon accepts for /employees: a run reads them in as few requests as it can.
EMPLOYEES_PER_PAGE = 10_000
# Employees `--discover` reads for the tenant's own attributes (one request).
TENANT_SAMPLE = 500


class AnswersExportStream(PeakonStream):
    """Every survey answer; incremental on answerId through the `continuation` parameter."""

    name = "answers_export"
    path = "/answers/export"
    replication_key = "_id"  # = int(answerId): ascending, so the bookmark is the largest seen
    is_sorted = True
    sends_batches = True
    schema = SCHEMAS

    def __init__(self, tap: TapPeakon) -> None:
        super().__init__(tap)
        # A full page is also a state boundary: an interrupted run resumes after its last page.
        self.STATE_MSG_FREQUENCY = int(self.config["per_page"])

    @override
    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"per_page": self.config["per_page"]}
        # Read the bookmark from the state itself: only the first request gets here, before any page
        # has moved it, and the BATCH path does not go through the SDK's starting-value bookkeeping.
        # A FULL_TABLE read starts from the first answer whatever the bookmark (VersionedStream.prepare_read).
        bookmark = self.get_context_state(context).get("replication_key_value")
        if bookmark is not None and self.replication_method != REPLICATION_FULL_TABLE:
            params["continuation"] = bookmark
        return params

    @override
    def record_key(self, item: dict[str, Any], context: Context | None) -> Any:
        return self.reached(answer_key(item))

    def reached(self, key: Any) -> Any:
        """Note how far the export has gone (the largest answer key), and return the key."""
        if is_bookmark(key) and key > (self.stats.answers_reached or 0):
            self.stats.answers_reached = key
        return key

    # -- page files: lines made from the page's bytes (page_lines) -------------------------------
    @cached_property
    def item_lines(self) -> ItemLines:
        top, attributes = self.described
        wire = top - {*ENVELOPE_FIELDS, *self.primary_keys}  # an item sent with any of these is decoded
        return ItemLines(wire, attributes, ANSWER_KEY_FIELD)

    def page_lines(self, page: Page) -> Iterator[tuple[Any, bytes]]:
        """The page-file path: each record of the page as (its key, its JSONL line), the line made
        from the item's bytes where its fields are all described, else decoded, shaped and encoded."""
        envelope = self.envelope(page)
        appended = envelope_bytes(envelope)
        furthest = 0
        for item in page.items:
            parts = self.item_lines.key_parts(item)
            if parts is not None:
                answer_id, item_id = parts
                key = answer_id if type(answer_id) is int else answer_key_of(answer_id, item_id)
                if type(key) is int and key > furthest:  # is_bookmark, inline: once per answer
                    furthest = key
                yield key, line(item, appended, key)
                continue
            # A field the schema does not describe (drift), or not an object: decoded and shaped.
            record = self.enveloped(page.decode(item), envelope)
            if record is not None:
                shaped = self.post_process(record) or record
                yield shaped["_id"], encode_lines([shaped])
        self.reached(furthest)

    def page_file(self, page: Page) -> tuple[list[Any], bytes]:
        """The page's records as page-file lines: their keys, and the file's bytes. From the page's
        bytes (page_lines) unless a privacy rule touches answers: then the record path's, shaped."""
        if self.peakon.privacy.touches(self.name):
            rows = [self.post_process(row) or row for row in self.page_records(page)]
            return [row["_id"] for row in rows], encode_lines(rows)
        keys, lines = [], []
        for key, text in self.page_lines(page):
            keys.append(key)
            lines.append(text)
        return keys, b"".join(lines)

    # Private in the SDK, which compares every record's key with the bookmark; a record keyed by an
    # object or a list (a broken server's) would crash that comparison and stall every later run. It
    # moves no bookmark instead; the target keeps it aside. The SDK moves no bookmark in a FULL_TABLE
    # read either; this one does, as the page-file path does, so the next incremental run starts
    # after the whole read. (tests/test_sdk_contract.py guards the hook.)
    @override
    def _increment_stream_state(self, latest_record: dict[str, Any], *, context: Context | None = None) -> None:
        if is_bookmark(latest_record.get("_id")):
            self.state_manager.increment_state(latest_record, context=context, replication_key=self.replication_key)

    @override
    def get_batches(
        self, batch_config: BatchConfig, context: Context | None = None
    ) -> Iterable[tuple[BaseBatchFileEncoding, list[str]]]:
        """One file per page of answers; the bookmark moves to the page's last answer as it is sent.
        A page without records ends the stream, as on the record path."""
        state = self.get_context_state(context)
        max_pending = int(self.config.get("batch_max_pending_files") or 0)
        for page in self.pages(context):
            keys, payload = self.page_file(page)
            if not keys:
                return
            wait_for_room(batch_config, self.name, max_pending)
            yield write_batch(batch_config, self.name, payload)
            # The page's last usable key: a record keyed by anything else moves no bookmark.
            last = next((key for key in reversed(keys) if is_bookmark(key)), None)
            if last is not None:
                state["replication_key"] = self.replication_key
                state["replication_key_value"] = last


class EmployeesStream(PeakonStream):
    """All employees, every run (attributes and managers change); the largest id is kept as a bookmark."""

    name = "employees"
    path = "/employees"
    schema = SCHEMAS
    custom_attributes = True  # Department, Sub-Department, ...: each tenant its own

    @override
    def get_url_params(self, context: Context | None, next_page_token: str | None) -> dict[str, Any]:
        return {"per_page": EMPLOYEES_PER_PAGE}

    def sample_tenant_fields(self) -> None:
        """At `--discover`: the tenant's own attributes (HR fields under their display names) and
        references (managers) on the first page of /employees join the spec's schema, so a catalog
        describes them (flattening then gives each its own column)."""
        request = self.build_prepared_request(
            method="GET",
            url=f"{self.url_base}{self.path}",
            params={"per_page": TENANT_SAMPLE},
            headers=self.http_headers,
        )
        page = self.fetch(request, None, self.read_page)
        items = [item for item in page.decoded() if isinstance(item, dict)]
        schema = copy.deepcopy(dict(self.schema))
        for group in TENANT_DEFINED:
            described = schema["properties"][group]["properties"]
            seen = [values for item in items if isinstance(values := item.get(group), dict)]
            for name in dict.fromkeys(name for values in seen for name in values):
                if name not in described:
                    described[name] = described_by([values.get(name) for values in seen])
        self.schema = schema  # type: ignore[method-assign] # this stream's own, over the class's descriptor

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        count = self.count()
        if count is not None:
            self.stats.expected[self.name] = count
        yield from super().get_records(context)

    def count(self) -> int | None:
        """`GET /employees/count`, for the operator's completeness check; None when Peakon has none."""
        request = self.build_prepared_request(method="GET", url=f"{self.url_base}/employees/count",
                                              headers=self.http_headers)  # fmt: skip
        try:
            reply = self.fetch(request, None, lambda response: document(response.url, response.content))
        except FatalAPIError as err:  # a tenant without the endpoint: no check, not a failed run
            self.logger.warning("employees: no count from Peakon (%s); completeness not checked", err)
            return None
        count = reply.get("count") if isinstance(reply, dict) else None
        return count if isinstance(count, int) else None

    @override
    def record_key(self, item: dict[str, Any], context: Context | None) -> Any:
        return as_int_or_self(item.get("id"))

    @override
    def shape(self, row: dict[str, Any], context: Context | None) -> dict[str, Any]:
        row = super().shape(row, context)
        key = row["_id"]
        state = self.get_context_state(context)
        if isinstance(key, int) and key > int(state.get(READ_UP_TO["employees"]) or 0):
            state[READ_UP_TO["employees"]] = key
        return row


class DriversStream(PeakonStream):
    name = "drivers"
    path = "/engagement/drivers"
    schema = SCHEMAS

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        return {"driver_id": str(record["id"])}


class ScoresContextsStream(PeakonStream):
    name = "scores_contexts"
    path = "/scores/contexts/company_{company_id}/group/{engagement_group}"  # filled from the config
    schema = SCHEMAS

    @override
    def record_key(self, item: dict[str, Any], context: Context | None) -> Any:
        return score_key(str(self.config["engagement_group"]), item)


class ScoresByDriverStream(PeakonStream):
    """Category scores per driver. The public spec accepts only category groups there, so a driver
    answered with 422 is logged once and skipped."""

    name = "scores_by_driver"
    path = "/scores/contexts/company_{company_id}/group/{driver_id}"  # the config's and the parent's
    parent_stream_type = DriversStream
    state_partitioning_keys: ClassVar[list[str]] = []
    schema = SCHEMAS
    http_errors: ClassVar[Mapping[int, Action]] = {**POLICY, HTTPStatus.UNPROCESSABLE_ENTITY: Action.IGNORE}

    @override
    def record_key(self, item: dict[str, Any], context: Context | None) -> Any:
        return score_key(str((context or {})["driver_id"]), item)

    @override
    def shape(self, row: dict[str, Any], context: Context | None) -> dict[str, Any]:
        row = super().shape(row, context)
        row["driver_id"] = (context or {})["driver_id"]
        return row


class DriversCatalogStream(VersionedStream):
    """The static driver catalog CSV (shipped with the tap, or `drivers_catalog_path`)."""

    name = "drivers_catalog"
    primary_keys: ClassVar[list[str]] = ["_id"]

    def __init__(self, tap: TapPeakon) -> None:
        super().__init__(tap)
        self.peakon = tap

    schema = SCHEMAS
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @override
    def get_batch_config(self, config: Mapping[str, Any]) -> BatchConfig | None:
        return None  # 17 rows: plain records

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        configured = self.config.get("drivers_catalog_path")
        if configured:
            source, text = Path(configured).resolve().as_uri(), Path(configured).read_text(encoding="utf-8")
        else:
            packaged = resources.files("tap_peakon").joinpath("drivers_catalog.csv")
            source, text = "package:tap_peakon/drivers_catalog.csv", packaged.read_text(encoding="utf-8")
        fetched_at = dt.datetime.now(dt.UTC).isoformat()
        run_id = self.peakon.run_id
        for row in csv.DictReader(text.splitlines()):
            yield {
                "_id": int(row["Id"]),
                "Id": row["Id"],
                "Driver": row["Driver"],
                "SubDriver": row.get("SubDriver") or None,
                **envelope(fetched_at, run_id, self.name, source),
            }
