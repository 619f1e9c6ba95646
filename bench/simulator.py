"""Benchmark: the simulator serving 1,000,000 answers at per_page 10000 to one reader.

Prints pages/s, answers/s and the simulator's peak RSS (target: under 150 MB). Not a test.
Usage: python -m bench.simulator [--answers N] [--per-page N]
"""

from __future__ import annotations

import argparse
import json
import time

import requests
from peakon_simulator import DEFAULT_APP_TOKEN

from bench.common import simulator_process, vm_hwm_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--per-page", type=int, default=10_000)
    args = parser.parse_args()
    with simulator_process(args.answers) as sim:
        base_url = sim.base_url
        session = requests.Session()
        token = session.post(f"{base_url}/auth/application", json={"token": DEFAULT_APP_TOKEN}, timeout=10).json()
        session.headers["Authorization"] = f"Bearer {token['data']['id']}"
        url: str | None = f"{base_url}/answers/export?per_page={args.per_page}"
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
            "simulator_peak_rss_mb": round(vm_hwm_mb(sim.process.pid), 1),
        }
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
