"""Connecting to MongoDB, and describing where without ever showing a password."""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient
from pymongo.errors import ConfigurationError, InvalidURI, PyMongoError
from pymongo.uri_parser import parse_uri


class MongoUnavailableError(RuntimeError):
    """MongoDB could not be reached or the URI is unusable; the message is safe to print."""


def describe(uri: str) -> str:
    """`host:port[,host:port]` of a MongoDB URI: never the user or password."""
    try:
        nodes = parse_uri(uri, validate=False)["nodelist"]
    except (InvalidURI, ConfigurationError, ValueError):
        return "(unparseable mongo_uri)"
    return ",".join(f"{host}:{port}" for host, port in nodes) or "(no hosts)"


def connect(uri: str, timeout_ms: int, setting: str = "mongo_uri") -> MongoClient[dict[str, Any]]:
    """A client that has answered `ping` within the server-selection timeout.

    `setting` is how the caller's user knows the URI (a config key, an environment variable)."""
    where = describe(uri)
    try:
        client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True)
    except (InvalidURI, ConfigurationError, ValueError) as err:
        # pymongo's own messages for a bad URI may quote it; never pass them on.
        msg = f"{setting} is not a valid MongoDB URI ({type(err).__name__})"
        raise MongoUnavailableError(msg) from None
    try:
        client.admin.command("ping")
    except (PyMongoError, KeyError, ValueError) as err:  # a server without the auth it was asked for
        client.close()
        msg = f"MongoDB at {where} is unreachable after {timeout_ms / 1000:g}s ({type(err).__name__})"
        raise MongoUnavailableError(msg) from None
    return client
