"""Smoke test of the MongoDB the suite runs on (embedded nx-27017, or MONGO_TEST_URI), over its socket."""

from __future__ import annotations

from typing import Any

import pytest
from peakon_simulator.embedded_mongo import EmbeddedMongo, free_port
from pymongo import ASCENDING, MongoClient, UpdateOne
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, ServerSelectionTimeoutError


def test_bulk_upsert_unique_index_and_count(mongo_db: Database[dict[str, object]]) -> None:
    coll = mongo_db["smoke"]
    coll.create_index([("code", ASCENDING)], unique=True)
    ops = [
        UpdateOne({"_id": i}, {"$set": {"code": f"c{i}"}, "$setOnInsert": {"first": True}}, upsert=True)
        for i in range(500)
    ]
    first = coll.bulk_write(ops, ordered=False)
    assert (first.upserted_count, first.matched_count) == (500, 0)
    again = coll.bulk_write(ops, ordered=False)
    assert (again.upserted_count, again.matched_count, again.modified_count) == (0, 500, 0)
    assert coll.count_documents({}) == 500
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"_id": 10_000, "code": "c1"})


def test_each_test_gets_an_empty_database(mongo_db: Database[dict[str, object]]) -> None:
    assert mongo_db.list_collection_names() == []


def test_embedded_server_stops_by_its_pid() -> None:
    server = EmbeddedMongo()
    uri = server.start()
    with MongoClient[dict[str, Any]](uri, serverSelectionTimeoutMS=2000) as client:
        assert client.admin.command("ping")["ok"] == 1
    server.stop()
    with (
        MongoClient[dict[str, Any]](uri, serverSelectionTimeoutMS=300) as client,
        pytest.raises(ServerSelectionTimeoutError),
    ):
        client.admin.command("ping")


def test_unused_port_is_not_served() -> None:
    with (
        MongoClient[dict[str, Any]](
            f"mongodb://127.0.0.1:{free_port()}/?directConnection=true", serverSelectionTimeoutMS=300
        ) as client,
        pytest.raises(ServerSelectionTimeoutError),
    ):
        client.admin.command("ping")
