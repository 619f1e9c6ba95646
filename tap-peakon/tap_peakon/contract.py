"""What a runner of tap-peakon may rely on, in one module (the operator imports this and nothing else).

- The run summary (`summary_path`): `TapSummary`, described for other languages by
  `run_summary.schema.json` beside this module (a test keeps both equal).
- The envelope: the fields the tap adds to every record (`ENVELOPE_FIELDS`) and the streams it has;
  the key in a stream's bookmark that says how far its read got (`READ_UP_TO`).
- The record keys: ids as the tap stores them (`as_int_or_self`).
- Config files: how a runner writes the tap's config, private to its user (`write_private`), and the
  checks of the settings the JSON schema cannot express.
- The settings' JSON schema, as `--about` prints it (`config_schema`; it imports the SDK).

Cheap to import: no SDK, no HTTP.
"""

from __future__ import annotations

from typing import Any, TypedDict

from tap_peakon.config_checks import base_url_problem, redact_fields_problem
from tap_peakon.keys import as_int_or_self
from tap_peakon.names import ENVELOPE_FIELDS, READ_UP_TO, STREAM_NAMES
from tap_peakon.private_files import write_private

__all__ = [
    "ENVELOPE_FIELDS",
    "READ_UP_TO",
    "STREAM_NAMES",
    "SUMMARY_SCHEMA_FILE",
    "TapSummary",
    "as_int_or_self",
    "base_url_problem",
    "config_schema",
    "redact_fields_problem",
    "write_private",
]

SUMMARY_SCHEMA_FILE = "run_summary.schema.json"


class TapSummary(TypedDict):
    """The summary file, written when the tap ends (every key always present)."""

    requests: int
    retries: int
    retry_waits: list[float]  # the seconds waited before each retry
    pages: int
    pages_by_stream: dict[str, int]
    ignored: dict[str, int]  # per stream, requests answered with a status its error policy ignores
    skipped_drivers: int
    expected: dict[str, int]  # what the API counts, where it counts (e.g. employees)
    answers_reached: int | None  # the largest answerId the export reached
    schema_drift: dict[str, dict[str, int]]  # per stream, fields its schema lacks: how many records had them
    error: str | None  # null on success
    error_type: str | None
    error_setting: str | None  # the setting the error asks to check (e.g. base_url), else null


def config_schema() -> dict[str, Any]:
    """The tap's settings as a JSON schema (what `tap-peakon --about` lists)."""
    from tap_peakon.tap import TapPeakon  # noqa: PLC0415  # the SDK's import cost, only when asked

    return TapPeakon.config_jsonschema
