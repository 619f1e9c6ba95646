"""Benchmark: the simulator serving 1,000,000 answers at per_page 10000 to one reader.

Prints pages/s, answers/s and the simulator's peak RSS (target: under 150 MB). Not a test.
Usage: python -m bench.simulator [--answers N] [--per-page N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import requests

from peakon_ingest.embedded_mongo import free_port


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--per-page", type=int, default=10_000)
    args = parser.parse_args()
    port = free_port()
    command = [sys.executable, "-m", "peakon_ingest", "simulate", "--port", str(port), "--answers", str(args.answers)]
    sim = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/_sim/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        session = requests.Session()
        token = session.post(f"{base}/api/v1/auth/application", json={"token": "sim-app-token"}, timeout=10).json()
        session.headers["Authorization"] = f"Bearer {token['data']['id']}"
        url: str | None = f"{base}/api/v1/answers/export?per_page={args.per_page}"
        pages = answers = 0
        started = time.perf_counter()
        while url:
            page = session.get(url, timeout=120).json()
            pages += 1
            answers += len(page["data"])
            url = page["links"]["next"]
        elapsed = time.perf_counter() - started
        result = {
            "answers": answers,
            "pages": pages,
            "seconds": round(elapsed, 2),
            "pages_per_s": round(pages / elapsed, 2),
            "answers_per_s": round(answers / elapsed),
            "simulator_peak_rss_mb": round(peak_rss_mb(sim.pid), 1),
        }
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
