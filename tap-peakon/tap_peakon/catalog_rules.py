"""What a catalog and stream maps given to the tap may say, checked before anything is read.

A catalog's stream metadata may choose the replication method (`replication-method`, as Meltano's
`metadata` extra writes it); the SDK reads only the entry's `replication_method`, which discovery
fills, so the choice is lifted there. A catalog naming a stream or a property the tap does not
have, or stream maps naming an unknown stream, is an error of one line (exit 1), never a silent
partial run.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

# Below these top-level properties a stream's items carry tenant-defined names (HR attributes,
# references to people), so a catalog may name any property there (`--discover` samples them).
TENANT_DEFINED = ("attributes", "relationships")


class CatalogError(ValueError):
    """The catalog or the stream maps name what the tap does not have."""


def with_chosen_methods(catalog: Any) -> Any:
    """The catalog (a dict) with each stream's chosen `replication-method` as its replication method."""
    if not isinstance(catalog, Mapping):
        return catalog
    lifted = copy.deepcopy(dict(catalog))
    for entry in lifted.get("streams", []):
        for item in entry.get("metadata", []):
            chosen = item.get("metadata", {}).get("replication-method")
            if item.get("breadcrumb") == [] and chosen:
                entry["replication_method"] = chosen
    return lifted


def _has(schema: Mapping[str, Any], path: list[str], open_below: set[str]) -> bool:
    """Whether the schema describes the property path (`properties`, name, `properties`, name...)."""
    names = path[1::2]
    node: Mapping[str, Any] = schema
    for depth, name in enumerate(names):
        if depth == 1 and names[0] in open_below:
            return True
        node = node.get("properties", {}).get(name) or {}
        if not node:
            return False
    return True


def catalog_problem(catalog: Any, schemas: Mapping[str, Mapping[str, Any]], tenant_defined: set[str]) -> str | None:
    """The first stream or property the catalog names that the tap does not have, in words."""
    if not isinstance(catalog, Mapping):
        return None
    for entry in catalog.get("streams", []):
        stream = entry.get("tap_stream_id") or entry.get("stream")
        if stream not in schemas:
            return f"catalog: unknown stream {stream!r} (streams: {', '.join(sorted(schemas))})"
        open_below = set(TENANT_DEFINED) if stream in tenant_defined else set()
        for item in entry.get("metadata", []):
            path = [str(step) for step in item.get("breadcrumb", [])]
            if path and not _has(schemas[stream], path, open_below):
                return f"catalog: stream {stream!r} has no property {'.'.join(path[1::2])!r}"
    return None


def stream_maps_problem(stream_maps: Any, streams: set[str]) -> str | None:
    """The first stream map that names neither a stream of the tap nor a `__source__` among them."""
    if not isinstance(stream_maps, Mapping):
        return None
    for name, rule in stream_maps.items():
        source = rule.get("__source__") if isinstance(rule, Mapping) else None
        if name not in streams and source is None:
            return f"stream_maps: unknown stream {name!r} (streams: {', '.join(sorted(streams))})"
        if source is not None and source not in streams:
            return f"stream_maps: {name!r} has an unknown __source__ {source!r}"
    return None
