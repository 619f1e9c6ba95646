"""The SDK's standard target tests, writing into MongoDB (embedded, or MONGO_TEST_URI)."""

from __future__ import annotations

import atexit
import os
import uuid

from peakon_simulator.embedded_mongo import EmbeddedMongo
from singer_sdk.testing import get_target_test_class
from target_mongo_upsert.target import TargetMongoUpsert


def _mongo_uri() -> str:
    """The factory builds the test class at import, so its MongoDB must be up by then too."""
    if os.environ.get("MONGO_TEST_URI"):
        return os.environ["MONGO_TEST_URI"]
    server = EmbeddedMongo()
    atexit.register(server.stop)
    return server.start()


TestTargetMongoUpsert = get_target_test_class(
    target_class=TargetMongoUpsert,
    config={"mongo_uri": _mongo_uri(), "database": f"sdk_{uuid.uuid4().hex[:8]}"},
)
