"""The SDK's standard target tests, then checks of what they stored.

The standard tests only check that the target ran; the checks below replay each of the SDK's sample
streams into a database of their own and compare every stored document with the last version of its
record, so a target that writes nothing (or the wrong thing) fails here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database
from singer_sdk.testing import get_target_test_class
from target_mongo_upsert.target import TargetMongoUpsert

from .helpers import run_target

# The factory builds the test class at import; the runner it makes per test reads this very dict,
# into which `_mongo` puts the suite's MongoDB (the `mongo_uri` fixture) before the first test.
CONFIG: dict[str, Any] = {"database": f"sdk_{uuid.uuid4().hex[:8]}"}


@pytest.fixture(autouse=True, scope="module")
def _mongo(mongo_uri: str) -> Iterator[None]:
    CONFIG["mongo_uri"] = mongo_uri
    yield
    del CONFIG["mongo_uri"]


TestTargetMongoUpsert = get_target_test_class(target_class=TargetMongoUpsert, config=CONFIG)

SAMPLES = resources.files("singer_sdk.testing").joinpath("target_test_streams")
# Samples the standard suite expects to fail (or that carry no record to check).
NOT_STORED = {"invalid_schema", "record_before_schema", "record_missing_key_property", "camelcase_complex_schema"}
STORED = sorted(
    name.removesuffix(".singer")
    for name in (p.name for p in SAMPLES.iterdir())
    if name.endswith(".singer") and name.removesuffix(".singer") not in NOT_STORED
)


def expected_documents(lines: list[dict[str, Any]]) -> dict[str, dict[Any, dict[str, Any]] | list[str]]:
    """Per stream, the last version of each record by its key, as a keyed upsert must leave them; for
    a stream without key properties every record, as JSON texts in order (an append keeps them all).
    A record's `version` is stored beside it as `table_version`."""
    keys: dict[str, list[str]] = {}
    stored: dict[str, dict[Any, dict[str, Any]] | list[str]] = {}
    for message in lines:
        if message["type"] == "SCHEMA":
            keys[message["stream"]] = message.get("key_properties") or []
        elif message["type"] == "RECORD":
            record = message["record"] | ({"table_version": message["version"]} if "version" in message else {})
            props = keys[message["stream"]]
            if not props:
                appended = stored.setdefault(message["stream"], [])
                assert isinstance(appended, list)
                appended.append(json.dumps(record, sort_keys=True))
                continue
            key = record[props[0]] if len(props) == 1 else "::".join(str(record[p]) for p in props)
            keyed = stored.setdefault(message["stream"], {})
            assert isinstance(keyed, dict)
            keyed[key] = {k: v for k, v in record.items() if k != "_id"}
    return stored


@pytest.mark.parametrize("sample", STORED)
def test_each_standard_sample_is_stored_as_its_last_versions(
    tmp_path: Path, mongo_uri: str, mongo_db: Database[dict[str, Any]], sample: str
) -> None:
    path = Path(str(SAMPLES.joinpath(f"{sample}.singer")))
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    done = run_target(tmp_path, mongo_uri, mongo_db.name, path)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = expected_documents(lines)
    assert expected, "the sample has records"
    for stream, documents in expected.items():
        collection = mongo_db["".join(c if c.isalnum() or c == "_" else "_" for c in stream)]
        found = {d.pop("_id"): d for d in collection.find()}
        for document in found.values():
            for tracking in ("first_seen_at", "last_seen_at", "changed_at", "content_hash"):
                assert tracking in document, tracking
                document.pop(tracking)
        if isinstance(documents, list):  # appended: one document per record, in the order sent
            assert [json.dumps(found[key], sort_keys=True) for key in sorted(found)] == documents, stream
        else:
            assert found == documents, stream
