"""MeltanoLabs' tap-postgres into target-mongo-upsert: a generic tap's full-table syncs, as the SDK sends them.

tap-postgres with `emit_activate_version_messages` sends ACTIVATE_VERSION first, then records that
carry the version. Over 20 runs with upstream inserts, updates and deletes between them, with the
default `parallel_writes=2` and small batches (so writes overlap), the target must count exactly what
changed upstream, mark exactly the deleted rows removed, and store `date-time` columns as BSON dates.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo.database import Database

from tests.interop.pipes import run_pipe
from tests.interop.plugins import executable
from tests.interop.postgres import Postgres

TARGET = [sys.executable, "-m", "target_mongo_upsert"]
SCHEMA = "interop"
RUNS = 20
EPOCH = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@dataclass
class Table:
    """One upstream table and what it holds now: key -> row (a keyless table: a row id of ours)."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    rows: dict[Any, dict[str, Any]] = field(default_factory=dict)
    ever_deleted: set[str] = field(default_factory=set)
    serial: int = 0

    @property
    def collection(self) -> str:
        return f"{SCHEMA}_{self.name}"  # the stream `interop-<table>`, `-` made `_`

    def doc_id(self, row: dict[str, Any]) -> str:
        return "::".join(str(row[k]) for k in self.key)


def make_row(table: Table, rng: random.Random) -> dict[str, Any]:
    table.serial += 1
    moment = EPOCH + timedelta(seconds=rng.randrange(10**7))
    if table.name == "items":
        return {"id": table.serial, "name": f"item {table.serial}", "qty": rng.randrange(100), "updated_at": moment}
    if table.name == "pairs":
        region = ("north", "south", "east")[table.serial % 3]
        return {"region": region, "code": table.serial, "label": f"{region} {table.serial}", "seen_at": moment}
    return {"kind": rng.choice(("click", "view")), "amount": rng.randrange(3)}  # events: duplicates on purpose


def literal(value: Any) -> str:
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def where(table: Table, row: dict[str, Any]) -> str:
    columns = table.key or table.columns
    return " AND ".join(f"{c} = {literal(row[c])}" for c in columns)


def create(postgres: Postgres, database: str) -> list[Table]:
    """The upstream tables, empty: a key, a composite key, no key."""
    postgres.sql(
        database,
        f"CREATE SCHEMA {SCHEMA};"
        f"CREATE TABLE {SCHEMA}.items (id integer PRIMARY KEY, name text, qty integer, updated_at timestamptz);"
        f"CREATE TABLE {SCHEMA}.pairs (region text, code integer, label text, seen_at timestamptz,"
        " PRIMARY KEY (region, code));"
        f"CREATE TABLE {SCHEMA}.events (kind text, amount integer);",
    )
    return [
        Table("items", ("id", "name", "qty", "updated_at"), ("id",)),
        Table("pairs", ("region", "code", "label", "seen_at"), ("region", "code")),
        Table("events", ("kind", "amount"), ()),
    ]


@dataclass
class Changes:
    inserted: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)


def mutate(postgres: Postgres, database: str, table: Table, rng: random.Random, size: int) -> Changes:
    """Inserts, updates and deletes upstream (none of them when `size` is 0); what a sync must see."""
    changes = Changes()
    statements: list[str] = []
    keyed = bool(table.key)
    for _ in range(size):
        row = make_row(table, rng)
        table.rows[table.doc_id(row) if keyed else f"row{table.serial}"] = row
        changes.inserted.add(table.doc_id(row) if keyed else f"row{table.serial}")
        values = ", ".join(literal(row[c]) for c in table.columns)
        names = ", ".join(table.columns)
        statements.append(f"INSERT INTO {SCHEMA}.{table.name} ({names}) VALUES ({values})")  # noqa: S608 - test data
    untouched = sorted(set(table.rows) - changes.inserted)
    rng.shuffle(untouched)
    if keyed:
        for key in untouched[: size // 2 + 1 if size else 0]:
            row = table.rows[key]
            column = table.columns[-2]  # qty or label: a real change of content
            row[column] = row[column] + 1 if isinstance(row[column], int) else row[column] + "*"
            moment = table.columns[-1]
            row[moment] += timedelta(minutes=1)
            statements.append(
                f"UPDATE {SCHEMA}.{table.name} SET {column} = {literal(row[column])}, {moment} = "  # noqa: S608
                f"{literal(row[moment])} WHERE {where(table, row)}"
            )
            changes.changed.add(key)
    gone = [k for k in untouched if k not in changes.changed][: size // 2 if size else 0]
    for key in gone:
        row = table.rows.pop(key)
        if keyed:
            statements.append(f"DELETE FROM {SCHEMA}.{table.name} WHERE {where(table, row)}")  # noqa: S608
            table.ever_deleted.add(key)
        else:  # one of the identical rows: ctid picks exactly one
            statements.append(
                f"DELETE FROM {SCHEMA}.{table.name} WHERE ctid = (SELECT ctid FROM {SCHEMA}.{table.name} "  # noqa: S608
                f"WHERE {where(table, row)} LIMIT 1)"
            )
        changes.removed.add(key)
    if statements:
        postgres.sql(database, ";".join(statements))
    return changes


def stored_value(value: Any) -> Any:
    """As pymongo reads back what a row's value should be stored as (BSON dates are naive UTC)."""
    return value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value


def counts_of(db: Database[dict[str, Any]], run_id: str, table: Table) -> dict[str, int]:
    run = db["ingestion_runs"].find_one({"_id": run_id}) or {}
    counts = run.get("counts", {})
    found: dict[str, int] = counts.get(table.collection) or counts.get(f"{SCHEMA}-{table.name}") or {}
    return {k: found.get(k, 0) for k in ("inserted", "changed", "unchanged", "removed")}


def check_keyed(db: Database[dict[str, Any]], table: Table, changes: Changes, run_id: str) -> list[str]:
    """What is wrong with a keyed table's collection after a run (nothing: an empty list)."""
    problems: list[str] = []
    docs = {str(d["_id"]): d for d in db[table.collection].find()}  # a single int key stays an int
    live = {k for k, d in docs.items() if d.get("removed_at") is None}
    removed = set(docs) - live
    if live != set(table.rows):
        problems.append(
            f"{len(live)} live documents for {len(table.rows)} rows; live but deleted upstream: "
            f"{sorted(live - set(table.rows))[:8]}; rows removed or missing: {sorted(set(table.rows) - live)[:8]}"
        )
    if removed != table.ever_deleted:
        problems.append(
            f"removed_at on {len(removed)} documents {sorted(removed)[:8]}, expected exactly the "
            f"{len(table.ever_deleted)} deleted upstream {sorted(table.ever_deleted)[:8]}"
        )
    unchanged = len(table.rows) - len(changes.inserted) - len(changes.changed)
    expected = {"inserted": len(changes.inserted), "changed": len(changes.changed), "unchanged": unchanged,
                "removed": len(changes.removed)}  # fmt: skip
    counted = counts_of(db, run_id, table)
    if counted != expected:
        problems.append(f"counts {counted}, upstream changed {expected}")
    for column in table.columns:
        wrong = [k for k, row in table.rows.items() if k in docs and docs[k].get(column) != stored_value(row[column])]
        if wrong:
            sample = docs[wrong[0]].get(column)
            problems.append(
                f"{column} differs from upstream in {len(wrong)} documents, e.g. {wrong[0]}: stored {sample!r} "
                f"({type(sample).__name__}), upstream {table.rows[wrong[0]][column]!r}"
                + (" (a date-time column must be a BSON date)" if column.endswith("_at") else "")
            )
    return problems


def check_keyless(db: Database[dict[str, Any]], table: Table, run_id: str) -> list[str]:
    problems: list[str] = []
    docs = list(db[table.collection].find())
    live = Counter((d.get("kind"), d.get("amount")) for d in docs if d.get("removed_at") is None)
    upstream = Counter((r["kind"], r["amount"]) for r in table.rows.values())
    if live != upstream:
        problems.append(
            f"live documents {sorted(live.items())} for upstream rows {sorted(upstream.items())} "
            "(each of identical rows must be kept)"
        )
    changed = counts_of(db, run_id, table)["changed"]
    if changed:
        problems.append(f"{changed} counted changed; a keyless row never changes")
    return problems


def full_table_catalog(tmp_path: Path, tap: dict[str, Any]) -> Path:
    """tap-postgres selects nothing by default: its discovered catalog, every stream selected FULL_TABLE."""
    config = tmp_path / "discover.json"
    config.write_text(json.dumps(tap))
    found = subprocess.run(
        [str(executable("tap-postgres")), "--config", str(config), "--discover"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    catalog = json.loads(found.stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            entry["metadata"]["selected"] = True
            if not entry["breadcrumb"]:
                entry["metadata"]["replication-method"] = "FULL_TABLE"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def test_tap_postgres_announces_each_table_version_before_its_records_and_never_closes_it(
    tmp_path: Path, postgres: Postgres, pg_database: str
) -> None:
    """The premise of the test below, as the SDK (0.54) sends it: the one ACTIVATE_VERSION of a stream
    comes before its records, which carry that version; none follows them. So a target must mark what a
    version did not bring without waiting for a second ACTIVATE_VERSION."""
    rng = random.Random(1)  # noqa: S311 - test data
    for table in create(postgres, pg_database):
        mutate(postgres, pg_database, table, rng, 5)
    tap = {**postgres.connection(pg_database), "filter_schemas": [SCHEMA], "emit_activate_version_messages": True}
    config = tmp_path / "tap.json"
    config.write_text(json.dumps(tap))
    done = subprocess.run(
        [executable("tap-postgres"), "--config", config, "--catalog", full_table_catalog(tmp_path, tap)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    kinds: dict[str, list[tuple[str, Any]]] = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message["type"] in {"RECORD", "ACTIVATE_VERSION"}:
            version = message.get("version")
            kinds.setdefault(message["stream"], []).append((message["type"], version))
    assert set(kinds) == {f"{SCHEMA}-{t}" for t in ("items", "pairs", "events")}
    for stream, sent in kinds.items():
        (first, version), *records = sent
        assert first == "ACTIVATE_VERSION", f"{stream}: first {first}"
        assert records, f"{stream}: no records"
        assert all(r == ("RECORD", version) for r in records), f"{stream}: {sorted(set(records))}"


def test_twenty_full_table_syncs_with_parallel_writes_count_and_remove_exactly_what_changed_upstream(
    tmp_path: Path, postgres: Postgres, pg_database: str, mongo_uri: str, mongo_db: Database[dict[str, Any]]
) -> None:
    tables = create(postgres, pg_database)
    rng = random.Random(27)  # noqa: S311 - test data
    tap = {**postgres.connection(pg_database), "filter_schemas": [SCHEMA], "emit_activate_version_messages": True}
    catalog = ("--catalog", str(full_table_catalog(tmp_path, tap)))
    target = {"mongo_uri": mongo_uri, "database": mongo_db.name, "parallel_writes": 2, "batch_size_rows": 20}
    problems: list[str] = []
    for run in range(1, RUNS + 1):
        size = 0 if run % 5 == 0 else (60 if run == 1 else 6)  # every fifth run: nothing changed upstream
        changes = {t.name: mutate(postgres, pg_database, t, rng, size) for t in tables}
        run_id = str(uuid.uuid4())
        run_pipe(
            tmp_path, [str(executable("tap-postgres"))], tap, TARGET, {**target, "run_id": run_id},
            tap_args=catalog, name=f"run{run}",
        )  # fmt: skip
        problems += [
            f"run {run}, {table.collection}: {problem}"
            for table in tables
            for problem in (
                check_keyed(mongo_db, table, changes[table.name], run_id)
                if table.key
                else check_keyless(mongo_db, table, run_id)
            )
        ]
    # Every run is checked, so one failure shows all that goes wrong (a race shows in some runs only).
    assert not problems, f"{len(problems)} problems in {RUNS} runs:\n" + "\n".join(problems[:40])
