"""Derive the streams' JSON Schemas from Peakon's OpenAPI spec.

The committed files under `schemas/` are the output; `python -m tap_peakon.schema_derivation SPEC`
rewrites them, and a test checks that they still match the spec.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tap_peakon.names import ENVELOPE_FIELDS

SCHEMA_DIR = Path(__file__).with_name("schemas")

# Fields every record carries besides the API item: text, and one a date-time.
ENVELOPE: dict[str, Any] = {name: {"type": ["string", "null"]} for name in ENVELOPE_FIELDS}
ENVELOPE["fetched_at"]["format"] = "date-time"


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    """Inline `$ref`s and turn OpenAPI's `nullable` into JSON Schema null types, permissively."""
    if isinstance(node, list):
        return [_resolve(spec, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _resolve(spec, target)
    out = {k: _resolve(spec, v) for k, v in node.items() if k not in {"nullable", "description", "example"}}
    kind = out.get("type")
    if isinstance(kind, str):
        # Values arrive as the API sends them, typed or not: accept null and never reject.
        out["type"] = [kind, "null"]
    out.pop("enum", None)  # new enum members must pass through, not fail the run
    if kind == "object" or "properties" in out:
        out["type"] = ["object", "null"]
        out["additionalProperties"] = True
    if out.get("format") == "uri":
        out.pop("format")  # a link's text, passed on as received
    return out


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


# What the spec leaves untyped (`scores`, `changes`, `participation`: "type: object"), as Peakon's
# values carry it (../shared/peakon/README.md: clients read scores.time, mean, nps). Still permissive:
# null allowed, fields not listed welcome.
METRICS: dict[str, dict[str, Any]] = {
    "scores": {
        "time": _nullable("string", format="date-time"),
        "mean": _nullable("number"),
        "nps": _nullable("number"),
        "count": _nullable("integer"),
    },
    "changes": {"mean": _nullable("number")},
    "participation": {"rate": _nullable("number")},
}

# Formats the values carry where the spec says nothing (the export's round dates are `date` and
# `responseAnsweredAt` a `date-time` in the spec itself).
FORMATS: dict[tuple[str, str], str] = {("employees", "employmentStart"): "date"}

# A reference to another resource (JSON:API resource identifier), as managers are sent.
REFERENCE: dict[str, Any] = _nullable(
    "object",
    additionalProperties=True,
    properties={"data": _nullable("object", additionalProperties=True, properties={
        "id": _nullable("string"), "type": _nullable("string")})},
)  # fmt: skip


JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}


def described_by(values: list[Any]) -> dict[str, Any]:
    """A permissive schema for a tenant-defined field from the values a sample holds: their JSON
    types and null; a reference (`{"data": ...}`) as the managers' shape; text when nothing is known."""
    if any(isinstance(value, dict) and "data" in value for value in values):
        return REFERENCE
    kinds = {JSON_TYPES[type(value)] for value in values if type(value) in JSON_TYPES}
    if "number" in kinds:
        kinds.discard("integer")
    schema: dict[str, Any] = {"type": [*sorted(kinds or {"string"}), "null"]}
    if "object" in kinds:
        schema["additionalProperties"] = True
    return schema


def _refined(stream: str, item: dict[str, Any]) -> dict[str, Any]:
    """The spec's item with the metrics typed and the formats the values carry."""
    attributes = item.get("properties", {}).get("attributes", {}).get("properties", {})
    for name, fields in METRICS.items():
        if name in attributes:
            attributes[name] = _nullable("object", additionalProperties=True, properties=fields)
    for (owner, name), kind in FORMATS.items():
        if owner == stream and name in attributes:
            attributes[name] = {**attributes[name], "format": kind}
    return item


def _item(spec: dict[str, Any], path: str) -> dict[str, Any]:
    schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    return _resolve(spec, schema["properties"]["data"]["items"])  # type: ignore[no-any-return]


def derive(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def with_envelope(item: dict[str, Any], key_type: list[str], **extra: Any) -> dict[str, Any]:
        props = {"_id": {"type": key_type}, **item.get("properties", {}), **ENVELOPE, **extra}
        return {"type": "object", "additionalProperties": True, "properties": props, "required": ["_id"]}

    def item(stream: str, path: str) -> dict[str, Any]:
        return _refined(stream, _item(spec, path))

    scores = "/scores/contexts/{contextId}/group/{group}"
    employees = item("employees", "/employees")
    # The manager reference some tenants send (the spec names only the account).
    employees["properties"]["relationships"]["properties"]["manager"] = REFERENCE
    return {
        "answers_export": with_envelope(item("answers_export", "/answers/export"), ["integer", "string"]),
        "employees": with_envelope(employees, ["integer", "string"]),
        "drivers": with_envelope(item("drivers", "/engagement/drivers"), ["string"]),
        "scores_contexts": with_envelope(item("scores_contexts", scores), ["string"]),
        "scores_by_driver": with_envelope(item("scores_by_driver", scores), ["string"], driver_id={"type": ["string"]}),
        "drivers_catalog": with_envelope(
            {
                "properties": {
                    "Id": {"type": ["string"]},
                    "Driver": {"type": ["string"]},
                    "SubDriver": {"type": ["string", "null"]},
                }
            },
            ["integer"],
        ),
    }


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    for name, schema in derive(spec).items():
        (SCHEMA_DIR / f"{name}.json").write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
