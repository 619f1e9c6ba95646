"""Shared benchmark plumbing: services on loopback, and measuring a process tree's CPU and peak RSS."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests
from peakon_simulator.embedded_mongo import EmbeddedMongo, free_port
from peakon_simulator.generator import DEFAULT_EMPLOYEES
from pymongo import MongoClient
from pymongo.collection import Collection

ROOT = Path(__file__).resolve().parents[1]


def baseline_setup(description: str) -> tuple[requests.Session, Collection[dict[str, Any]], str]:
    """The hand-written baselines' common start: arguments, a bearer token, the collection, page 1."""
    parser = argparse.ArgumentParser(description=description)
    for name in ("--base-url", "--mongo-uri", "--database", "--app-token"):
        parser.add_argument(name, required=True)
    parser.add_argument("--per-page", type=int, default=10000)
    args = parser.parse_args()
    session = requests.Session()
    token = session.post(f"{args.base_url}/auth/application", json={"token": args.app_token}, timeout=60).json()
    session.headers["Authorization"] = f"Bearer {token['data']['id']}"
    client: MongoClient[dict[str, Any]] = MongoClient(args.mongo_uri)
    return session, client[args.database]["answers_export"], f"{args.base_url}/answers/export?per_page={args.per_page}"


@dataclass
class Measurement:
    wall_seconds: float
    cpu_seconds: float  # user + sys of the process and every descendant it waited for
    peak_rss_mb: dict[str, float] = field(default_factory=dict)  # by role: cli, tap, target, ...
    cpu_by_role: dict[str, float] = field(default_factory=dict)  # last sample before each exited
    returncode: int = 0
    stderr_tail: str = ""
    mongodb_cpu_seconds: float | None = None  # the embedded server's, during the run


def role_of(cmdline: list[str]) -> str:
    text = " ".join(cmdline)
    for role in ("tap_peakon", "target_mongo_upsert", "peakon_ingest", "naive", "raw"):
        if role in text:
            return {"tap_peakon": "tap", "target_mongo_upsert": "target", "peakon_ingest": "cli"}.get(role, role)
    return Path(cmdline[0]).name if cmdline else "?"


def vm_hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(command: list[str], env: dict[str, str] | None = None, timeout: float = 7200) -> Measurement:
    """Run `command`; sample the peak RSS (VmHWM) of it and its descendants every 50 ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    peaks: dict[str, float] = {}
    cpu: dict[int, tuple[str, float]] = {}
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in tree:
                try:
                    role = role_of(proc.cmdline())
                    times = proc.cpu_times()
                except psutil.Error:
                    continue
                if proc.pid in cpu and role == "?":  # exiting: its command line is gone, its role is not
                    role = cpu[proc.pid][0]
                peaks[role] = max(peaks.get(role, 0.0), vm_hwm_mb(proc.pid))
                cpu[proc.pid] = (role, times.user + times.system)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate(timeout=timeout)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu_samples = cpu
    by_role: dict[str, float] = {}
    for role, seconds in cpu_samples.values():
        by_role[role] = round(by_role.get(role, 0.0) + seconds, 2)
    return Measurement(
        wall, total_cpu, {k: round(v, 1) for k, v in peaks.items() if v}, by_role, process.returncode, stderr[-3000:]
    )


@dataclass
class SimulatorProcess:
    process: subprocess.Popen[bytes]
    base_url: str


@contextmanager
def simulator_process(answers: int, employees: int = DEFAULT_EMPLOYEES) -> Iterator[SimulatorProcess]:
    """A simulator in its own process (its CPU is not ours)."""
    port = free_port()
    command = [sys.executable, "-m", "peakon_simulator", "--port", str(port), "--answers", str(answers),
               "--employees", str(employees)]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                requests.get(f"http://127.0.0.1:{port}/_sim/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield SimulatorProcess(process, f"http://127.0.0.1:{port}/api/v1")
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def simulator(answers: int, employees: int = DEFAULT_EMPLOYEES) -> Iterator[str]:
    """Yields the API base URL of a simulator in its own process."""
    with simulator_process(answers, employees) as sim:
        yield sim.base_url


def sim_control(base_url: str, method: str, action: str, body: object = None) -> dict[str, object]:
    root = base_url.removesuffix("/api/v1")
    reply = requests.request(method, f"{root}/_sim/{action}", json=body, timeout=30)
    reply.raise_for_status()
    result: dict[str, object] = reply.json()
    return result


def api_requests(base_url: str, path_end: str = "") -> int:
    """Requests to the API (not the control API) since the log was last cleared, those whose path
    ends with `path_end` when given."""
    log = sim_control(base_url, "GET", "requests")["requests"]
    assert isinstance(log, list)
    return sum(1 for r in log if "/_sim/" not in r["path"] and r["path"].endswith(path_end))


@dataclass(frozen=True)
class MongoServer:
    uri: str
    pid: int | None  # the embedded server's process; None for BENCH_MONGO_URI (its CPU is not ours to read)

    def cpu_seconds(self) -> float | None:
        if self.pid is None:
            return None
        try:
            times = psutil.Process(self.pid).cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)


@contextmanager
def mongo() -> Iterator[MongoServer]:
    """BENCH_MONGO_URI when set, else an embedded nx-27017 server."""
    if os.environ.get("BENCH_MONGO_URI"):
        yield MongoServer(os.environ["BENCH_MONGO_URI"], None)
        return
    with EmbeddedMongo() as server:
        yield MongoServer(server.uri, server.pid)
