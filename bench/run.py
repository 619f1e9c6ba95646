"""`make bench`: the weekly job measured against the raw limit (and a naive ingestor, for information).

Prints tables (the runs, and where ours spends its time) and writes bench/results/latest.json.
Figures only: nothing here asserts a target (bench/README.md lists the targets and the last figures).
Usage: python -m bench.run [--quick] [--answers 200000] [--latency-answers N] [--big-answers N]
       [--marts-answers N] [--marts-employees N]   (0 answers skips that part)
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from peakon_simulator import DEFAULT_APP_TOKEN
from peakon_simulator.embedded_mongo import free_port
from peakon_simulator.generator import DEFAULT_EMPLOYEES
from pymongo import MongoClient
from rich.console import Console
from rich.table import Table

from bench import web
from bench.common import ROOT, Measurement, MongoServer, api_requests, measure, mongo, sim_control, simulator

RESULTS = ROOT / "bench" / "results"
console = Console()
# --quick: the same runs, smaller, for development (a few minutes at most).
QUICK = {"answers": 20_000, "latency_answers": 2_000, "big_answers": 50_000, "marts_answers": 50_000,
         "marts_employees": 2_000}  # fmt: skip
# Ours/raw pairs of first loads: on this shared machine one pair's CPU ratio moved by 10% between
# runs of the same code (1.78 and 2.0), so the ratios reported are the pairs' medians.
PAIRS = 3
WEEKLY_NEW_ANSWERS = 0.01  # a week's new answers, as a share of the export
WEEKLY_CHANGED_EMPLOYEES = 0.05  # a week's employees with another department or manager
PACKAGES = ("peakon_ingest", "tap-peakon/tap_peakon", "target-mongo-upsert/target_mongo_upsert",
            "peakon-simulator/peakon_simulator", "bench")  # fmt: skip
MARTS_OFF = {"PEAKON_BUILD_MARTS": "false"}  # ingest figures alone; the marts are measured on their own


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


def compile_bytecode() -> None:
    """Bytecode for every module of the project, as an installed copy has it: where
    PYTHONDONTWRITEBYTECODE is set, each process would otherwise compile ours again at its start
    (the CLI, tap, target, raw and naive alike), which no installation does."""
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)


def database() -> str:
    return f"bench_{uuid.uuid4().hex[:8]}"


def with_server_cpu(server: MongoServer, run: Callable[[], Measurement]) -> Measurement:
    """`run`, with the embedded server's CPU time over it (None against BENCH_MONGO_URI)."""
    before = server.cpu_seconds()
    measured = run()
    after = server.cpu_seconds()
    if before is not None and after is not None:
        measured.mongodb_cpu_seconds = round(after - before, 2)
    return measured


def cli(base_url: str, server: MongoServer, db: str, args: list[str], uri: str = "", **variables: str) -> Measurement:
    """`peakon-ingest <args>` against the simulator and MongoDB (`uri`: another way to the same server)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PEAKON_", "MONGO_"))},
        "PEAKON_APP_TOKEN": DEFAULT_APP_TOKEN,
        "PEAKON_BASE_URL": base_url,
        "MONGO_URI": uri or server.uri,
        "MONGO_DB": db,
        "LOG_LEVEL": "WARNING",
        **variables,
    }
    result = with_server_cpu(server, lambda: measure([sys.executable, "-m", "peakon_ingest.cli", *args], env))
    if result.returncode != 0:
        console.print(f"[red]peakon-ingest {args[0]} failed[/red]: {result.stderr_tail}")
    return result


def ours(base_url: str, server: MongoServer, db: str, uri: str = "") -> Measurement:
    return cli(base_url, server, db, ["ingest", "--streams", "answers_export"], uri, **MARTS_OFF)


def script(name: str, base_url: str, server: MongoServer, db: str, uri: str = "") -> Measurement:
    command = [sys.executable, "-m", f"bench.{name}", "--base-url", base_url, "--mongo-uri", uri or server.uri,
               "--database", db, "--app-token", DEFAULT_APP_TOKEN]  # fmt: skip
    result = with_server_cpu(server, lambda: measure(command))
    if result.returncode != 0:
        console.print(f"[red]{name} failed[/red]: {result.stderr_tail}")
    return result


def drop(server: MongoServer, db: str) -> None:
    MongoClient(server.uri).drop_database(db)


def row(m: Measurement, answers: int) -> dict[str, Any]:
    return {
        "wall_s": round(m.wall_seconds, 2),
        "answers_per_s": round(answers / m.wall_seconds) if m.wall_seconds else 0,
        "cpu_s": round(m.cpu_seconds, 2),
        "cpu_s_per_100k": round(m.cpu_seconds * 100_000 / answers, 2) if answers else 0,
        "peak_rss_mb": m.peak_rss_mb,
        "cpu_s_by_process": m.cpu_by_role,
        "mongodb_cpu_s": m.mongodb_cpu_seconds,
        "ok": m.returncode == 0,
    }


class Runs:
    """The measured runs, in order: one row each for the table and latest.json."""

    def __init__(self, server: MongoServer) -> None:
        self.server = server
        self.rows: list[dict[str, Any]] = []

    def add(self, label: str, answers: int, measured: Measurement) -> Measurement:
        self.rows.append({"run": label, "answers": answers, **row(measured, answers)})
        return measured

    def load(self, name: str, base_url: str, answers: int, label: str = "", uri: str = "") -> Measurement:
        """A first load of the answers into an empty database by `name` (ours, naive or raw)."""
        db = database()
        sim_control(base_url, "DELETE", "faults")
        if name == "ours":
            measured = ours(base_url, self.server, db, uri)
        else:
            measured = script(name, base_url, self.server, db, uri)
        drop(self.server, db)
        return self.add(f"{name}{label}", answers, measured)


def first_loads(runs: Runs, base_url: str, answers: int, result: dict[str, Any]) -> None:
    """Ours, naive and raw; then more ours/raw pairs: the ratios are the pairs' medians."""
    ours_run, naive, raw = (runs.load(name, base_url, answers) for name in ("ours", "naive", "raw"))
    pairs = [(ours_run, raw)]
    for n in range(2, PAIRS + 1):
        again = [runs.load(name, base_url, answers, f" (pair {n})") for name in ("ours", "raw")]
        pairs.append((again[0], again[1]))
    walls = [round(r.wall_seconds / o.wall_seconds, 2) for o, r in pairs]
    cpus = [round(o.cpu_seconds / r.cpu_seconds, 2) for o, r in pairs]
    result["ours_answers_per_s"] = round(answers / ours_run.wall_seconds)
    result["naive_answers_per_s"] = round(answers / naive.wall_seconds)
    result["raw_answers_per_s"] = round(answers / raw.wall_seconds)
    result["ours_vs_raw"] = statistics.median(walls)
    result["cpu_ratio_vs_raw"] = statistics.median(cpus)
    result["ours_vs_raw_pairs"], result["cpu_ratio_vs_raw_pairs"] = walls, cpus
    result["ours_vs_naive"] = round(naive.wall_seconds / ours_run.wall_seconds, 2)  # information, not a target


def run_record(server: MongoServer, db: str) -> dict[str, Any]:
    found: dict[str, Any] = MongoClient(server.uri)[db]["ingestion_runs"].find_one(sort=[("started_at", -1)]) or {}
    return found


def written(record: dict[str, Any]) -> tuple[int, int]:
    """Documents whose content a run wrote (inserted, changed, removed), and those it only touched
    (unchanged: `last_seen_at` and `run_id` set, which removal detection needs)."""
    counts = (record.get("counts") or {}).values()
    content = sum(c.get("inserted", 0) + c.get("changed", 0) + c.get("removed", 0) for c in counts)
    return content, sum(c.get("unchanged", 0) for c in counts)


def weekly_runs(runs: Runs, base_url: str, answers: int, employees: int, result: dict[str, Any]) -> None:
    """The weekly job on every stream: a first load, a week with nothing new, then a week with 1%
    new answers and 5% of the employees changed (marts off: they are measured on their own)."""
    server, db = runs.server, database()
    runs.add("ours, first load, all streams", answers, cli(base_url, server, db, ["ingest"], **MARTS_OFF))
    sim_control(base_url, "DELETE", "requests")
    noop = runs.add("ours, weekly, nothing new", 0, cli(base_url, server, db, ["ingest"], **MARTS_OFF))
    content, touched = written(run_record(server, db))
    result.update(
        noop_all_streams_requests=api_requests(base_url),
        noop_answers_export_requests=api_requests(base_url, "/answers/export"),
        noop_documents_written=content,
        noop_documents_touched=touched,
        noop_wall_s=round(noop.wall_seconds, 2),
    )
    new_answers, changed = round(answers * WEEKLY_NEW_ANSWERS), round(employees * WEEKLY_CHANGED_EMPLOYEES)
    sim_control(base_url, "POST", "answers", {"count": new_answers})
    sim_control(base_url, "POST", "churn", {"change": changed})
    sim_control(base_url, "DELETE", "requests")
    label = f"ours, weekly, {new_answers:,} new answers + {changed:,} employees changed"
    week = runs.add(label, new_answers, cli(base_url, server, db, ["ingest"], **MARTS_OFF))
    content, touched = written(run_record(server, db))
    result.update(
        weekly_new_answers=new_answers,
        weekly_changed_employees=changed,
        weekly_requests=api_requests(base_url),
        weekly_documents_written=content,
        weekly_documents_touched=touched,
        weekly_wall_s=round(week.wall_seconds, 2),
    )
    drop(server, db)


def latency_runs(runs: Runs, answers: int, result: dict[str, Any]) -> None:
    """The three again with 5 ms between each of them and MongoDB: round trips, not the server, count."""
    with simulator(answers) as base_url, latency(runs.server.uri, 5.0) as slow_uri:
        three = [runs.load(name, base_url, answers, " +5ms", slow_uri) for name in ("ours", "naive", "raw")]
    ours_run, naive, raw = three
    result["ours_vs_naive_5ms"] = round(naive.wall_seconds / ours_run.wall_seconds, 2)
    result["ours_vs_raw_5ms"] = round(raw.wall_seconds / ours_run.wall_seconds, 2)


def big_runs(runs: Runs, answers: int, result: dict[str, Any]) -> None:
    """1,000,000 answers: ours against the raw limit again, and the tap's and target's peak memory."""
    with simulator(answers) as base_url:
        big, raw = (runs.load(name, base_url, answers, f" ({answers:,})") for name in ("ours", "raw"))
    result.update(
        big_answers=answers,
        ours_vs_raw_1m=round(raw.wall_seconds / big.wall_seconds, 2),
        cpu_ratio_vs_raw_1m=round(big.cpu_seconds / raw.cpu_seconds, 2),
        tap_peak_rss_mb=big.peak_rss_mb.get("tap"),
        target_peak_rss_mb=big.peak_rss_mb.get("target"),
        cli_peak_rss_mb=big.peak_rss_mb.get("cli"),
    )


def marts_run(runs: Runs, answers: int, employees: int, result: dict[str, Any]) -> None:
    """The whole ingest (every stream), then the marts from what it stored, against the same server;
    then a week of 1% new answers and the weekly build, which reads only what is not yet released."""
    server = runs.server
    with simulator(answers, employees) as base_url:
        db = database()
        ingest = runs.add("ours, ingest for the marts", answers, cli(base_url, server, db, ["ingest"], **MARTS_OFF))
        marts = runs.add("ours, marts", answers, cli(base_url, server, db, ["marts"]))
        built: dict[str, Any] = MongoClient(server.uri)[db]["ingestion_runs"].find_one({"mode": "marts"}) or {}
        new_answers = round(answers * WEEKLY_NEW_ANSWERS)
        sim_control(base_url, "POST", "answers", {"count": new_answers})
        runs.add("ours, weekly ingest for the marts", new_answers, cli(base_url, server, db, ["ingest"], **MARTS_OFF))
        weekly = runs.add("ours, weekly marts", new_answers, cli(base_url, server, db, ["marts"]))
        again: dict[str, Any] = (
            MongoClient(server.uri)[db]["ingestion_runs"].find_one({"mode": "marts"}, sort=[("started_at", -1)]) or {}
        )
        result["web"] = web.measure(server.uri, db)  # the pages over these marts (bench/web.py)
        drop(server, db)
    report = built.get("marts") or {}  # per mart a dict of figures, and read_seconds for them all
    figures = {name: f for name, f in report.items() if isinstance(f, dict) and "rows" in f}
    week = again.get("marts") or {}
    result.update(
        marts_answers=answers,
        marts_employees=employees,
        marts_ingest_wall_s=round(ingest.wall_seconds, 1),
        marts_wall_s=round(marts.wall_seconds, 1),
        marts_vs_ingest_1m=round(marts.wall_seconds / ingest.wall_seconds, 3),
        marts_peak_rss_mb=marts.peak_rss_mb.get("cli"),
        marts_read_s=report.get("read_seconds"),
        marts_rows={name: f["rows"] for name, f in figures.items()},
        marts_seconds={name: f["seconds"] for name, f in figures.items()},
        marts_released=len(report.get("released") or []),
        marts_coverage=report.get("coverage"),
        marts_weekly_wall_s=round(weekly.wall_seconds, 1),
        marts_weekly_vs_full=round(weekly.wall_seconds / marts.wall_seconds, 3),
        marts_weekly_answers_read=week.get("answers_read"),
        marts_weekly_released=week.get("released"),
        marts_weekly_late_answers=week.get("late_answers"),
        marts_weekly_peak_rss_mb=weekly.peak_rss_mb.get("cli"),
    )


def time_split(rows: list[dict[str, Any]], result: dict[str, Any]) -> list[dict[str, Any]]:
    """Where ours spends its time, run by run: wall, and the CPU of each process and of MongoDB."""
    split = []
    for r in rows:
        if not r["run"].startswith("ours"):
            continue
        cpu = r["cpu_s_by_process"]
        entry = {"run": r["run"], "wall_s": r["wall_s"], "cli_cpu_s": cpu.get("cli"), "tap_cpu_s": cpu.get("tap"),
                 "target_cpu_s": cpu.get("target"), "mongodb_cpu_s": r["mongodb_cpu_s"]}  # fmt: skip
        if r["run"] == "ours, marts" and result.get("marts_read_s") is not None:
            entry["marts_read_s"] = result["marts_read_s"]
            entry["marts_compute_and_write_s"] = round(r["wall_s"] - result["marts_read_s"], 1)
        split.append(entry)
    return split


def report(rows: list[dict[str, Any]], result: dict[str, Any]) -> None:
    table = Table(title=f"peakon-ingest benchmark ({result['machine']})")
    for column in ("run", "answers", "wall_s", "answers_per_s", "cpu_s", "cpu_s_per_100k", "peak_rss_mb"):
        table.add_column(column, justify="left" if column in {"run", "peak_rss_mb"} else "right")
    for r in rows:
        rss = ", ".join(f"{k} {v:.0f}" for k, v in sorted(r["peak_rss_mb"].items()))
        table.add_row(r["run"], str(r["answers"]), str(r["wall_s"]), str(r["answers_per_s"]), str(r["cpu_s"]),
                      str(r["cpu_s_per_100k"]), rss)  # fmt: skip
    console.print(table)
    split = time_split(rows, result)
    where = Table(title="where ours spends its time (seconds; CPU by process, MongoDB the embedded server's)")
    columns = ("run", "wall_s", "cli_cpu_s", "tap_cpu_s", "target_cpu_s", "mongodb_cpu_s", "marts_read_s")
    for column in columns:
        where.add_column(column, justify="left" if column == "run" else "right")
    for entry in split:
        where.add_row(*("" if entry.get(c) is None else str(entry[c]) for c in columns))
    console.print(where)
    result["time_split"] = split
    console.print_json(json.dumps({k: v for k, v in result.items() if k not in {"runs", "time_split"}}))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps({**result, "runs": rows}, indent=2, sort_keys=True) + "\n")
    console.print(f"written to {RESULTS / 'latest.json'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"smaller runs for development: {QUICK}")
    parser.add_argument("--answers", type=int, default=200_000, help="first loads and weekly runs")
    parser.add_argument("--latency-answers", type=int, default=50_000, help="answers for the 5 ms runs (0: skip)")
    parser.add_argument("--big-answers", type=int, default=1_000_000, help="answers for ours vs raw at scale (0: skip)")
    parser.add_argument("--marts-answers", type=int, default=1_000_000, help="answers for the marts run (0: skip)")
    parser.add_argument("--marts-employees", type=int, default=20_000, help="employees for the marts run")
    args = parser.parse_args()
    if args.quick:
        vars(args).update(QUICK)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    server_kind = "BENCH_MONGO_URI" if os.environ.get("BENCH_MONGO_URI") else "embedded nx-27017"
    result: dict[str, Any] = {"answers": args.answers, "machine": machine, "quick": args.quick, "mongodb": server_kind,
                              "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}  # fmt: skip
    compile_bytecode()
    with mongo() as server:
        runs = Runs(server)
        with simulator(args.answers) as base_url:
            first_loads(runs, base_url, args.answers, result)
            weekly_runs(runs, base_url, args.answers, DEFAULT_EMPLOYEES, result)
        if args.latency_answers:
            latency_runs(runs, args.latency_answers, result)
        if args.big_answers:
            big_runs(runs, args.big_answers, result)
        if args.marts_answers:
            marts_run(runs, args.marts_answers, args.marts_employees, result)
    report(runs.rows, result)


if __name__ == "__main__":
    main()
