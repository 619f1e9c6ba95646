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
    if out.get("format") in {"date", "uri"}:
        out.pop("format")  # the SDK would coerce these; keep the API's text untouched
    return out


def _item(spec: dict[str, Any], path: str) -> dict[str, Any]:
    schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    return _resolve(spec, schema["properties"]["data"]["items"])  # type: ignore[no-any-return]


def derive(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def with_envelope(item: dict[str, Any], key_type: list[str], **extra: Any) -> dict[str, Any]:
        props = {"_id": {"type": key_type}, **item.get("properties", {}), **ENVELOPE, **extra}
        return {"type": "object", "additionalProperties": True, "properties": props, "required": ["_id"]}

    scores = _item(spec, "/scores/contexts/{contextId}/group/{group}")
    return {
        "answers_export": with_envelope(_item(spec, "/answers/export"), ["integer", "string"]),
        "employees": with_envelope(_item(spec, "/employees"), ["integer", "string"]),
        "drivers": with_envelope(_item(spec, "/engagement/drivers"), ["string"]),
        "scores_contexts": with_envelope(scores, ["string"]),
        "scores_by_driver": with_envelope(scores, ["string"], driver_id={"type": ["string"]}),
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
