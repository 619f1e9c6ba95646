"""tap-peakon: config schema and stream list."""

from __future__ import annotations

import json
import sys
import uuid
from functools import cached_property
from pathlib import Path, PurePath
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from tap_peakon import streams
from tap_peakon.auth import PeakonAuthenticator
from tap_peakon.capped_session import CappedSession
from tap_peakon.catalog_rules import CatalogError, catalog_problem, stream_maps_problem, with_chosen_methods
from tap_peakon.collector import set_for_bulk_records
from tap_peakon.config_checks import base_url_problem, redact_fields_problem
from tap_peakon.names import STREAM_NAMES
from tap_peakon.privacy import MODES, Privacy, parse_fields
from tap_peakon.rate_limit import HourlyLimiter
from tap_peakon.run_summary import RunStats
from tap_peakon.schema_derivation import SCHEMA_DIR
from tap_peakon.table_versions import SETTING, VersionedStream

STREAM_TYPES: list[type[Stream]] = [
    streams.AnswersExportStream,
    streams.EmployeesStream,
    streams.DriversStream,
    streams.ScoresContextsStream,
    streams.ScoresByDriverStream,
    streams.DriversCatalogStream,
]


class TapPeakon(Tap):
    """Singer tap for the Workday Peakon v1 API."""

    name = "tap-peakon"
    message_writer_class = MsgSpecWriter  # ~25% less CPU than the SDK's default JSON writer

    config_jsonschema = th.PropertiesList(
        th.Property(
            "app_token",
            th.StringType,
            secret=True,
            title="Application token",
            description="Peakon application token (Integrations), exchanged for a bearer token. "
            "Required unless bearer_token is given.",
        ),
        th.Property(
            "bearer_token",
            th.StringType,
            secret=True,
            title="Bearer token",
            description="A bearer token obtained earlier; used until Peakon rejects it.",
        ),
        th.Property(
            "base_url",
            th.URIType,
            required=True,
            title="API base URL",
            description="Your tenant's Peakon v1 API root, e.g. https://<subdomain>.peakon.com/api/v1 (no "
            "default: the token goes where this points).",
        ),
        th.Property(
            "plain_http_hosts",
            th.StringType,
            default="",
            title="Hosts reached over plain http",
            description="Comma-separated host names, besides loopback, that base_url may name with http:// "
            "(a Peakon simulator on a private container network, as in docker-compose's demo profile). "
            "The token then crosses that network unencrypted: never name a host outside it.",
        ),
        th.Property(
            "company_id",
            th.IntegerType(minimum=1),
            required=True,
            title="Company id",
            description="Your Peakon company id: context scores are read for company_<id>.",
        ),
        th.Property(
            "engagement_group",
            th.StringType,
            default="engagement",
            title="Engagement group",
            description="Category group for scores_contexts.",
        ),
        th.Property(
            "per_page",
            th.IntegerType(minimum=1, maximum=20000),
            default=10000,
            title="Answers per page",
            description="per_page of /answers/export, 1 to 20000.",
        ),
        th.Property(
            "timeout_seconds",
            th.NumberType(exclusive_minimum=0),
            default=60,
            title="HTTP timeout",
            description="Seconds to wait for each response.",
        ),
        th.Property(
            "max_requests_per_hour",
            th.IntegerType(minimum=1),
            default=5000,
            title="Request budget per hour",
            description="Client-side limit; Peakon allows 5,000 requests per hour per application.",
        ),
        th.Property(
            "max_response_bytes",
            th.IntegerType(minimum=1),
            default=64 * 1024 * 1024,
            title="Largest response body",
            description="Bytes, after decompression; a larger body fails the stream with a clear error.",
        ),
        th.Property(
            "max_retry_wait_seconds",
            th.NumberType(minimum=0),
            default=900,
            title="Longest wait before a retry",
            description="Caps exponential backoff; a Retry-After longer than this fails the run.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0),
            default=8,
            title="Retries per request",
            description="Retries of one request on 5xx, 408, 429 and network errors.",
        ),
        th.Property(
            "backoff_base_seconds",
            th.NumberType(minimum=0),
            default=2,
            title="First backoff wait",
            description="Exponential backoff starts here and doubles, with jitter.",
        ),
        th.Property("run_id", th.UUIDType, title="Run id", description="Stamped on every record; default: new."),
        th.Property(
            "drivers_catalog_path",
            th.StringType,
            title="Driver catalog CSV",
            description="Default: the catalog shipped with the tap.",
        ),
        th.Property(
            "batch_max_pending_files",
            th.IntegerType(minimum=0),
            default=0,
            title="Unconsumed batch files before the tap waits",
            description="With batch_config on local storage and a target that deletes files it has "
            "loaded (target-mongo-upsert does): at most this many answer files wait on disk. 0: no limit.",
        ),
        th.Property(
            "streams",
            th.ArrayType(th.StringType(allowed_values=list(STREAM_NAMES))),
            title="Streams to sync",
            description="Only these (default: all). A catalog given with --catalog decides instead.",
        ),
        th.Property(
            "redact_fields",
            th.CustomType({"type": ["string", "array", "null"], "items": {"type": "string"}}),
            title="Fields to redact",
            description="Field names (matched at any depth) or paths from the record's top (* for any field), "
            "case-insensitive, never to emit as they are, e.g. accountEmail,relationships.* "
            "(comma-separated text or a list).",
        ),
        th.Property(
            "redact_mode",
            th.StringType(allowed_values=list(MODES)),
            default="remove",
            title="Redaction mode",
            description="remove: drop the fields; hash: replace each value with a keyed pseudonym "
            "(hmac-sha256:<hex>, under redact_key).",
        ),
        th.Property(
            "redact_key",
            th.StringType,
            secret=True,
            title="Pseudonym key",
            description="The secret key of the pseudonyms; required with redact_mode hash or pseudonymize_ids. "
            "The same key gives the same pseudonyms in every run.",
        ),
        th.Property(
            "pseudonymize_ids",
            th.BooleanType,
            default=False,
            title="Pseudonymize employee identifiers",
            description="Employee ids, external ids, emails and manager references become keyed pseudonyms "
            "everywhere they appear, keys included, so answers and employees still join.",
        ),
        th.Property(
            SETTING,
            th.BooleanType,
            default=True,
            title="Emit `ACTIVATE_VERSION` messages",
            description="Table versions for streams read in full (all but the answers, which are read in full "
            "when the catalog chooses FULL_TABLE or the state holds no bookmark): an ACTIVATE_VERSION before the "
            "records, each RECORD carrying its version, and the same ACTIVATE_VERSION again once the stream was "
            "read to the end without error.",
        ),
        th.Property(
            "summary_path",
            th.StringType,
            title="Run summary file",
            description="Where the tap writes its run summary as JSON when it ends (requests, retries, "
            "pages, pages_by_stream, ignored, skipped_drivers, error).",
        ),
        th.Property(
            "token_cache_path",
            th.StringType,
            title="Token cache file",
            description="Where a newly obtained bearer token is written (mode 0600) for reuse.",
        ),
    ).to_dict()

    def __init__(self, *, catalog: PurePath | str | dict[str, Any] | None = None, **kwargs: Any) -> None:
        """The SDK's, with the catalog checked first and its streams' chosen replication methods applied."""
        if isinstance(catalog, PurePath | str):  # a file name (the CLI passes the catalog itself)
            catalog = json.loads(Path(catalog).read_text(encoding="utf-8"))
        schemas = {name: json.loads((SCHEMA_DIR / f"{name}.json").read_text()) for name in STREAM_NAMES}
        tenant_defined = {vars(kind)["name"] for kind in STREAM_TYPES if getattr(kind, "custom_attributes", False)}
        problem = catalog_problem(catalog, schemas, tenant_defined)
        if problem:
            raise CatalogError(problem)
        super().__init__(catalog=with_chosen_methods(catalog), **kwargs)

    # Private in the SDK, which offers no public hook for checks a JSON schema cannot express (one of
    # two settings required, a URL's scheme); tap_peakon_tests/test_sdk_contract.py guards it.
    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        errors = super()._validate_config(raise_errors=False)
        config = self.config
        if not (config.get("app_token") or config.get("bearer_token")):
            errors.append("app_token: required (or bearer_token); set TAP_PEAKON_APP_TOKEN")
        problem = base_url_problem(config.get("base_url"), config)  # never quoted: it may carry a password
        if problem:
            errors.append(f"base_url: {problem}")
        problem = redact_fields_problem(config.get("redact_fields"), config)
        if problem:
            errors.append(f"redact_fields: {problem}, got {config.get('redact_fields')!r}")
        hashing = config.get("redact_mode") == "hash" and config.get("redact_fields")
        if (hashing or config.get("pseudonymize_ids")) and not config.get("redact_key"):
            errors.append("redact_key: required with redact_mode hash or pseudonymize_ids")
        problem = stream_maps_problem(config.get("stream_maps"), set(STREAM_NAMES))
        if problem:
            raise CatalogError(problem)  # not a setting's value: a name the tap does not have
        path = config.get("drivers_catalog_path")
        if path and not Path(path).is_file():
            errors.append(f"drivers_catalog_path: no readable file at {path}")
        if errors and raise_errors:
            raise ConfigValidationError(errors[0], errors=errors)
        return errors

    @cached_property
    def run_id(self) -> str:
        return str(self.config.get("run_id") or uuid.uuid4())

    @cached_property
    def stats(self) -> RunStats:
        return RunStats()

    @cached_property
    def privacy(self) -> Privacy:
        return Privacy(
            fields=parse_fields(self.config.get("redact_fields")),
            mode=str(self.config["redact_mode"]),
            key=self.config.get("redact_key"),
            pseudonymize_ids=bool(self.config.get("pseudonymize_ids")),
        )

    @cached_property
    def session(self) -> CappedSession:
        """One HTTP session for every stream (connections reused), bodies capped."""
        return CappedSession(int(self.config["max_response_bytes"]))

    @cached_property
    def limiter(self) -> HourlyLimiter:
        return HourlyLimiter(int(self.config["max_requests_per_hour"]))

    @cached_property
    def authenticator(self) -> PeakonAuthenticator:
        return PeakonAuthenticator(
            base_url=str(self.config["base_url"]).rstrip("/"),
            app_token=self.config.get("app_token"),
            bearer_token=self.config.get("bearer_token"),
            timeout=float(self.config["timeout_seconds"]),
            before_request=self.before_request,
            token_cache_path=self.config.get("token_cache_path"),
            # A session of its own: the streams' session sends the authenticator itself with each request.
            session=CappedSession(int(self.config["max_response_bytes"])),
        )

    def before_request(self) -> None:
        """Every request, the token exchange included, counts against the hourly budget."""
        self.limiter.acquire()
        self.stats.requests += 1

    @override
    def discover_streams(self) -> list[Stream]:
        """Every stream; with `streams` configured and no catalog given, only those are selected (a
        child's parent is still read for its ids, without records of its own)."""
        found = [stream_class(tap=self) for stream_class in STREAM_TYPES]
        wanted = self.config.get("streams")
        if wanted and self.input_catalog is None:
            for stream in found:
                stream.selected = stream.name in wanted
        return found

    @override
    def run_discovery(self) -> str:
        """The SDK's, with the employees' tenant-defined fields sampled when the tenant is configured."""
        if self.config.get("base_url") and (self.config.get("app_token") or self.config.get("bearer_token")):
            employees = self.streams["employees"]
            if isinstance(employees, streams.EmployeesStream):
                employees.sample_tenant_fields()
        else:
            self.logger.warning("employees: no base_url or token, so the catalog holds the spec's attributes only")
        return super().run_discovery()

    # Final in the SDK, which has no hook that also runs when a sync fails, nor one before the streams
    # sync: we wrap it to decide which reads are whole before any stream starts, and to write the
    # summary file either way (tap_peakon_tests/test_sdk_contract.py guards it).
    @override  # type: ignore[misc]
    def sync_all(self) -> None:
        error: Exception | None = None
        try:
            for stream in self.streams.values():
                if isinstance(stream, VersionedStream):
                    stream.prepare_read()
            super().sync_all()
        except Exception as err:
            error = err
            raise
        finally:
            path = self.config.get("summary_path")
            if path:
                self.stats.write(path, error)


def main() -> None:
    """Console entry point."""
    set_for_bulk_records()
    try:
        TapPeakon.cli()
    except CatalogError as err:  # one line, as for a bad setting
        print(f"tap-peakon: error: {err}", file=sys.stderr)  # noqa: T201
        sys.exit(1)


if __name__ == "__main__":
    main()
