"""Secondary indexes per collection, for the queries dashboards run."""

from __future__ import annotations

import logging
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import OperationFailure

INDEXES: dict[str, tuple[str, ...]] = {
    "answers_export": ("attributes.responseAnsweredAt", "attributes.employeeId", "attributes.questionId"),
    "scores_contexts": ("attributes.scores.time",),
    "scores_by_driver": ("attributes.scores.time",),
}
EVERY_COLLECTION = ("run_id",)
# IndexOptionsConflict, IndexKeySpecsConflict: an index on that key exists with other options.
CONFLICT_CODES = frozenset({85, 86})
log = logging.getLogger(__name__)


def ensure_indexes(collection: Collection[dict[str, Any]]) -> list[str]:
    """Create the collection's indexes; a no-op when they exist (create_index is idempotent)."""
    created = []
    for field in (*INDEXES.get(collection.name, ()), *EVERY_COLLECTION):
        try:
            created.append(collection.create_index(field))
        except OperationFailure as err:
            if err.code not in CONFLICT_CODES:
                raise
            # Someone made their own index on this key (unique, say): it serves the same queries.
            log.info("%s: keeping the existing index on %s", collection.name, field)
    return created
