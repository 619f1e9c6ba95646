"""`make bench`: ours vs a naive ingestor vs the raw limit, with and without 5 ms to MongoDB.

Prints a table and writes bench/results/latest.json. Figures only: nothing here asserts a target.
Usage: python -m bench.run [--answers 200000] [--latency-answers 5000] [--big-answers 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from peakon_simulator import DEFAULT_APP_TOKEN
from peakon_simulator.embedded_mongo import free_port
from pymongo import MongoClient
from rich.console import Console
from rich.table import Table

from bench.common import ROOT, Measurement, export_requests, measure, mongo, sim_control, simulator

RESULTS = ROOT / "bench" / "results"
console = Console()


@contextmanager
def latency(mongo_uri: str, round_trip_ms: float) -> Iterator[str]:
    """The same MongoDB behind the delaying proxy; yields the proxied URI."""
    target_port = int(mongo_uri.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    port = free_port()
    proxy = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "latency_proxy.py"), str(port), str(target_port), str(round_trip_ms)]
    )
    try:
        MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=10000).admin.command(
            "ping"
        )
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)


def database() -> str:
    return f"bench_{uuid.uuid4().hex[:8]}"


def ours(base_url: str, mongo_uri: str, db: str, *extra: str) -> Measurement:
    return cli(base_url, mongo_uri, db, ["ingest", "--streams", "answers_export", *extra])


def cli(base_url: str, mongo_uri: str, db: str, args: list[str], **variables: str) -> Measurement:
    """`peakon-ingest <args>` against the simulator and MongoDB."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PEAKON_", "MONGO_"))},
        "PEAKON_APP_TOKEN": DEFAULT_APP_TOKEN,
        "PEAKON_BASE_URL": base_url,
        "MONGO_URI": mongo_uri,
        "MONGO_DB": db,
        "LOG_LEVEL": "WARNING",
        **variables,
    }
    result = measure([sys.executable, "-m", "peakon_ingest.cli", *args], env)
    if result.returncode != 0:
        console.print(f"[red]peakon-ingest {args[0]} failed[/red]: {result.stderr_tail}")
    return result


def script(name: str, base_url: str, mongo_uri: str, db: str) -> Measurement:
    command = [sys.executable, "-m", f"bench.{name}", "--base-url", base_url, "--mongo-uri", mongo_uri,
               "--database", db, "--app-token", DEFAULT_APP_TOKEN]  # fmt: skip
    result = measure(command)
    if result.returncode != 0:
        console.print(f"[red]{name} failed[/red]: {result.stderr_tail}")
    return result


def drop(mongo_uri: str, db: str) -> None:
    MongoClient(mongo_uri).drop_database(db)


def run_three(
    base_url: str, mongo_uri: str, answers: int, label: str, rows: list[dict[str, Any]]
) -> dict[str, Measurement]:
    results = {}
    for name in ("ours", "naive", "raw"):
        db = database()
        sim_control(base_url, "DELETE", "faults")
        m = ours(base_url, mongo_uri, db) if name == "ours" else script(name, base_url, mongo_uri, db)
        drop(mongo_uri, db)
        results[name] = m
        rows.append({"run": f"{name}{label}", "answers": answers, **row(m, answers)})
    return results


def row(m: Measurement, answers: int) -> dict[str, Any]:
    return {
        "wall_s": round(m.wall_seconds, 2),
        "answers_per_s": round(answers / m.wall_seconds) if m.wall_seconds else 0,
        "cpu_s": round(m.cpu_seconds, 2),
        "cpu_s_per_100k": round(m.cpu_seconds * 100_000 / answers, 2),
        "peak_rss_mb": m.peak_rss_mb,
        "cpu_s_by_process": m.cpu_by_role,
        "ok": m.returncode == 0,
    }


def local_runs(base_url: str, mongo_uri: str, answers: int, rows: list[dict[str, Any]], result: dict[str, Any]) -> None:
    local = run_three(base_url, mongo_uri, answers, "", rows)
    result["ours_answers_per_s"] = rows[0]["answers_per_s"]
    result["naive_answers_per_s"] = rows[1]["answers_per_s"]
    result["raw_answers_per_s"] = rows[2]["answers_per_s"]
    result["ours_vs_naive"] = round(local["naive"].wall_seconds / local["ours"].wall_seconds, 2)
    result["cpu_ratio_vs_raw"] = round(local["ours"].cpu_seconds / local["raw"].cpu_seconds, 2)


def incremental_runs(base_url: str, mongo_uri: str, answers: int, result: dict[str, Any]) -> None:
    """Re-runs against one database: no new data, then 1% new answers."""
    db = database()
    ours(base_url, mongo_uri, db)
    sim_control(base_url, "DELETE", "requests")
    noop = ours(base_url, mongo_uri, db)
    result["incremental_noop_requests"] = export_requests(base_url)
    result["incremental_noop_wall_s"] = round(noop.wall_seconds, 2)
    sim_control(base_url, "DELETE", "requests")
    sim_control(base_url, "POST", "answers", {"count": answers // 100})
    one_percent = ours(base_url, mongo_uri, db)
    result["incremental_1pct_requests"] = export_requests(base_url)
    result["incremental_1pct_wall_s"] = round(one_percent.wall_seconds, 2)
    drop(mongo_uri, db)


def latency_runs(mongo_uri: str, answers: int, rows: list[dict[str, Any]], result: dict[str, Any]) -> None:
    with simulator(answers) as base_url, latency(mongo_uri, 5.0) as slow_uri:
        slow = run_three(base_url, slow_uri, answers, " +5ms", rows)
    result["ours_vs_naive_5ms"] = round(slow["naive"].wall_seconds / slow["ours"].wall_seconds, 2)
    result["ours_answers_per_s_5ms"] = rows[-3]["answers_per_s"]
    result["naive_answers_per_s_5ms"] = rows[-2]["answers_per_s"]


def memory_run(mongo_uri: str, answers: int, rows: list[dict[str, Any]], result: dict[str, Any]) -> None:
    with simulator(answers) as base_url:
        db = database()
        big = ours(base_url, mongo_uri, db)
        drop(mongo_uri, db)
    rows.append({"run": "ours (memory)", "answers": answers, **row(big, answers)})
    result["big_answers"] = answers
    result["tap_peak_rss_mb"] = big.peak_rss_mb.get("tap")
    result["target_peak_rss_mb"] = big.peak_rss_mb.get("target")
    result["cli_peak_rss_mb"] = big.peak_rss_mb.get("cli")


def marts_run(mongo_uri: str, answers: int, employees: int, result: dict[str, Any]) -> None:
    """The whole ingest (every stream), then the marts from what it stored, in the same run."""
    with simulator(answers, employees) as base_url:
        db = database()
        ingest = cli(base_url, mongo_uri, db, ["ingest"], PEAKON_BUILD_MARTS="false")
        marts = cli(base_url, mongo_uri, db, ["marts"])
        built: dict[str, Any] = MongoClient(mongo_uri)[db]["ingestion_runs"].find_one({"mode": "marts"}) or {}
        drop(mongo_uri, db)
    figures = built.get("marts") or {}
    result.update(
        marts_answers=answers,
        marts_employees=employees,
        marts_ingest_wall_s=round(ingest.wall_seconds, 1),
        marts_wall_s=round(marts.wall_seconds, 1),
        marts_vs_ingest=round(marts.wall_seconds / ingest.wall_seconds, 3),
        marts_peak_rss_mb=marts.peak_rss_mb.get("cli"),
        marts_read_s=figures.get("read_seconds"),
        marts_rows={name: f["rows"] for name, f in figures.items() if isinstance(f, dict)},
        marts_seconds={name: f["seconds"] for name, f in figures.items() if isinstance(f, dict)},
    )


def report(rows: list[dict[str, Any]], result: dict[str, Any]) -> None:
    table = Table(title=f"peakon-ingest benchmark ({result['machine']})")
    for column in ("run", "answers", "wall_s", "answers_per_s", "cpu_s", "cpu_s_per_100k", "peak_rss_mb"):
        table.add_column(column, justify="left" if column in {"run", "peak_rss_mb"} else "right")
    for r in rows:
        rss = ", ".join(f"{k} {v:.0f}" for k, v in sorted(r["peak_rss_mb"].items()))
        table.add_row(r["run"], str(r["answers"]), str(r["wall_s"]), str(r["answers_per_s"]), str(r["cpu_s"]),
                      str(r["cpu_s_per_100k"]), rss)  # fmt: skip
    console.print(table)
    console.print_json(json.dumps({k: v for k, v in result.items() if k != "runs"}))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({**result, "runs": rows}, indent=2, sort_keys=True) + "\n")
    console.print(f"written to {RESULTS / 'latest.json'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=200_000)
    parser.add_argument("--latency-answers", type=int, default=50_000, help="answers for the 5 ms runs (0: skip)")
    parser.add_argument("--big-answers", type=int, default=1_000_000, help="answers for the memory run (0: skip)")
    parser.add_argument("--marts-answers", type=int, default=1_000_000, help="answers for the marts run (0: skip)")
    parser.add_argument("--marts-employees", type=int, default=20_000, help="employees for the marts run")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    result: dict[str, Any] = {"answers": args.answers, "machine": machine,
                              "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}  # fmt: skip
    with mongo() as mongo_uri:
        with simulator(args.answers) as base_url:
            local_runs(base_url, mongo_uri, args.answers, rows, result)
            incremental_runs(base_url, mongo_uri, args.answers, result)
        if args.latency_answers:
            latency_runs(mongo_uri, args.latency_answers, rows, result)
        if args.big_answers:
            memory_run(mongo_uri, args.big_answers, rows, result)
        if args.marts_answers:
            marts_run(mongo_uri, args.marts_answers, args.marts_employees, result)
    report(rows, result)


if __name__ == "__main__":
    main()
