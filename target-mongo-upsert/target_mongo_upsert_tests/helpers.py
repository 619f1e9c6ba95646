"""Run target-mongo-upsert as a real process on a `.singer` file or text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data_files")
# The replays' streams keep readable bookmark documents in sync_state, as a user would configure them.
READABLE_BOOKMARKS = [
    {"stream": "orders", "key": "replication_key_value", "field": "last_order_id"},
    {"stream": "customers", "key": "last_customer_id", "field": "last_customer_id"},
]


def run_target(
    tmp_path: Path, mongo_uri: str, database: str, singer: str | Path, timeout: float = 120, **config: Any
) -> subprocess.CompletedProcess[str]:
    config_path = tmp_path / "target.json"
    config_path.write_text(
        json.dumps({"mongo_uri": mongo_uri, "database": database, "readable_bookmarks": READABLE_BOOKMARKS, **config})
    )
    text = singer.read_text() if isinstance(singer, Path) else singer
    return subprocess.run(
        [sys.executable, "-m", "target_mongo_upsert", "--config", str(config_path)],
        input=text, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def objects(levels: int, leaf: Any = 0) -> Any:
    """`leaf` inside `levels` objects, each `{"k": ...}`: a value that nests `levels` deep."""
    for _ in range(levels):
        leaf = {"k": leaf}
    return leaf
