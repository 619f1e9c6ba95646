"""The one table from the operator's environment variables to the plugins' settings.

Each plugin setting is defined once, in its plugin (type, default, bounds, description: see
`tap-peakon --about`). The operator only maps a variable onto it, turns the variable's text into the
setting's JSON type, and checks it against the plugin's own schema, so a bad value is one line
naming the variable. `meltano.yml` is generated from this table (`python -m peakon_ingest.devtools.meltano_project`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator
from tap_peakon.contract import ENVELOPE_FIELDS, READ_UP_TO, base_url_problem, redact_fields_problem


@dataclass(frozen=True)
class Mapped:
    variable: str
    setting: str
    # A check of the plugin's own beyond its JSON schema, given the value and the plugin's whole
    # config: the problem in words, or None.
    check: Callable[[Any, Mapping[str, Any]], str | None] | None = None
    echo: bool = True  # whether an error may quote the value (a URL may carry a password)


TAP = "tap-peakon"
TARGET = "target-mongo-upsert"
TABLE: dict[str, tuple[Mapped, ...]] = {
    TAP: (
        Mapped("PEAKON_APP_TOKEN", "app_token"),
        Mapped("PEAKON_BASE_URL", "base_url", base_url_problem, echo=False),
        Mapped("PEAKON_PLAIN_HTTP_HOSTS", "plain_http_hosts"),
        Mapped("PEAKON_COMPANY_ID", "company_id"),
        Mapped("PEAKON_ENGAGEMENT_GROUP", "engagement_group"),
        Mapped("PEAKON_PER_PAGE", "per_page"),
        Mapped("PEAKON_MAX_REQUESTS_PER_HOUR", "max_requests_per_hour"),
        Mapped("PEAKON_MAX_RETRIES", "max_retries"),
        Mapped("PEAKON_BACKOFF_BASE_SECONDS", "backoff_base_seconds"),
        Mapped("PEAKON_MAX_RETRY_WAIT_SECONDS", "max_retry_wait_seconds"),
        Mapped("HTTP_TIMEOUT_SECONDS", "timeout_seconds"),
        Mapped("PEAKON_MAX_RESPONSE_BYTES", "max_response_bytes"),
        Mapped("PEAKON_REDACT_FIELDS", "redact_fields", redact_fields_problem),
        Mapped("PEAKON_REDACT_MODE", "redact_mode"),
        Mapped("PEAKON_REDACT_KEY", "redact_key"),
        Mapped("PEAKON_PSEUDONYMIZE_IDS", "pseudonymize_ids"),
    ),
    TARGET: (
        Mapped("MONGO_URI", "mongo_uri"),
        Mapped("MONGO_DB", "database"),
    ),
}


def variable_for(plugin: str, setting: str) -> str | None:
    """Our environment variable for a plugin's setting (None when we do not map it)."""
    return next((mapped.variable for mapped in TABLE.get(plugin, ()) if mapped.setting == setting), None)


# What the operator passes the target for Peakon's collections (the target itself is generic).
TARGET_EXTRAS: dict[str, Any] = {
    # What differs between two reads of the same item (the tap's envelope): never a change by itself.
    "envelope_fields": list(ENVELOPE_FIELDS),
    "refreshed_fields": ["run_id"],
    # Every value as the API sent it: the seed's `fetched_at` and Peakon's date-times stay ISO strings
    # (the marts read `attributes.responseAnsweredAt` as text), whatever format the tap's schemas declare.
    "dates_as_bson": False,
    # tap-peakon closes a table version only after a complete read: one it announced and never closed
    # is a read that stopped short, which must not retire the documents it did not get to.
    "activate_announced_at_end": False,
    "history": ["employees"],
    "indexes": {
        "answers_export": ["attributes.responseAnsweredAt", "attributes.employeeId", "attributes.questionId"],
        "scores_contexts": ["attributes.scores.time"],
        "scores_by_driver": ["attributes.scores.time"],
        "*": ["run_id"],
    },
    "readable_bookmarks": [
        {"stream": "answers_export", "key": READ_UP_TO["answers_export"], "field": "last_answer_id"},
        {"stream": "employees", "key": READ_UP_TO["employees"], "field": "last_employee_id"},
    ],
}


# Generated: `python -m peakon_ingest.devtools.plugin_schemas > peakon_ingest/plugin_schemas.json`.
SCHEMAS_FILE = "plugin_schemas.json"


class SettingError(ValueError):
    """A variable's value does not fit its plugin setting; the message names the variable."""


@cache
def plugin_schema(plugin: str) -> dict[str, Any]:
    """The plugin's schema of the settings TABLE maps: a generated copy of the plugin's own (importing
    the plugins costs the CLI a third of a second of CPU at every start, the SDK's imports)."""
    copies = json.loads(resources.files("peakon_ingest").joinpath(SCHEMAS_FILE).read_text(encoding="utf-8"))
    return {"properties": copies[plugin]}


def _types(prop: Mapping[str, Any]) -> list[str]:
    kind = prop.get("type", [])
    if "anyOf" in prop:
        return [t for option in prop["anyOf"] for t in _types(option)]
    return [kind] if isinstance(kind, str) else list(kind)


def parse(text: str, prop: Mapping[str, Any]) -> Any:
    """The text of an environment variable as the setting's JSON type."""
    kinds = _types(prop)
    value = text.strip()
    if "string" in kinds:
        return value
    if "boolean" in kinds:
        lowered = value.lower()
        if lowered in {"true", "1", "yes", "on"}:
            return True
        if lowered in {"false", "0", "no", "off"}:
            return False
        raise SettingError("expected true or false")
    if "integer" in kinds:
        try:
            return int(value)
        except ValueError:
            raise SettingError("expected a whole number") from None
    if "number" in kinds:
        try:
            return float(value)
        except ValueError:
            raise SettingError("expected a number") from None
    try:
        return json.loads(value)
    except ValueError:
        raise SettingError("expected JSON") from None


def describe_error(message: str, prop: Mapping[str, Any]) -> str:
    """A schema error in words, never a raw regular expression."""
    if "pattern" in prop and "does not match" in message:
        return "has characters that are not allowed"
    return message


def plugin_config(plugin: str, values: Mapping[str, str | None]) -> dict[str, Any]:
    """The plugin's settings from the variables that are set (the plugin's defaults fill the rest)."""
    properties = plugin_schema(plugin)["properties"]
    config: dict[str, Any] = {}
    given = [(m, values[m.variable]) for m in TABLE[plugin] if str(values.get(m.variable) or "").strip()]
    for mapped, text in given:
        prop = properties[mapped.setting]
        try:
            config[mapped.setting] = parse(str(text), prop)
        except SettingError as err:
            raise SettingError(f"{mapped.variable}: {err}{shown(mapped, prop, text)}") from None
        error = next(iter(Draft7Validator(prop).iter_errors(config[mapped.setting])), None)
        if error is not None:
            raise SettingError(f"{mapped.variable}: {describe_error(error.message, prop)}{shown(mapped, prop, text)}")
    for mapped, text in given:  # checks that read other settings too, once all are known
        problem = mapped.check(config[mapped.setting], config) if mapped.check else None
        if problem is not None:
            raise SettingError(f"{mapped.variable}: {problem}{shown(mapped, properties[mapped.setting], text)}")
    return config


def shown(mapped: Mapped, prop: Mapping[str, Any], text: Any) -> str:
    """The value as given, for an error: never a secret, nor a value that may carry one."""
    return f" (got {text!r})" if mapped.echo and not prop.get("secret") else ""


def default(plugin: str, variable: str) -> Any:
    """The plugin's default for the setting a variable maps onto."""
    setting = next(m.setting for m in TABLE[plugin] if m.variable == variable)
    return plugin_schema(plugin)["properties"][setting].get("default")


VARIABLES = tuple(m.variable for mappings in TABLE.values() for m in mappings)
