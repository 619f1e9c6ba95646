"""Secondary indexes per collection, as the `indexes` setting lists them (`*`: every collection)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import OperationFailure

EVERY_COLLECTION = "*"
# IndexOptionsConflict, IndexKeySpecsConflict: an index on that key exists with other options.
CONFLICT_CODES = frozenset({85, 86})
log = logging.getLogger(__name__)


def fields_for(indexes: Mapping[str, Sequence[str]], collection: str) -> list[str]:
    """The fields to index in `collection`: its own, then those of every collection, each once."""
    return list(dict.fromkeys([*indexes.get(collection, ()), *indexes.get(EVERY_COLLECTION, ())]))


def ensure_indexes(collection: Collection[dict[str, Any]], fields: Sequence[str]) -> list[str]:
    """Create an ascending index on each field; a no-op when they exist (create_index is idempotent)."""
    created = []
    for field in fields:
        try:
            created.append(collection.create_index(field))
        except OperationFailure as err:
            if err.code not in CONFLICT_CODES:
                raise
            # Someone made their own index on this key (unique, say): it serves the same queries.
            log.info("%s: keeping the existing index on %s", collection.name, field)
    return created
