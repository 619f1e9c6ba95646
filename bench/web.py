"""The web pages over the marts of a large ingest: p95 of each page (time to the whole response, from
a client on loopback: an upper bound of the server's time), each page's weight with its assets (the
bytes transferred, as a browser asks: gzip accepted; and unzipped), and how long the org map takes to
be usable in headless Chromium (the tree's first level loaded).

`bench.run` calls `measure` on the marts of its 1,000,000-answer run; `python -m bench.web` runs it
alone over a smaller ingest of its own (for development)."""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import requests
import uvicorn
from peakon_simulator import DEFAULT_APP_TOKEN
from peakon_simulator.embedded_mongo import free_port
from playwright.sync_api import sync_playwright
from pydantic import SecretStr
from pymongo import MongoClient

from bench.common import mongo, simulator
from peakon_ingest.settings import Settings
from peakon_ingest.web import users
from peakon_ingest.web.app import Config, create_app
from tests.web.browser import chromium

PASSWORD = "bench password 1"  # noqa: S105 - a throwaway user of a throwaway database
SAMPLES = 20
LIMITS = {"p95_ms": 150, "page_bytes": 1_500_000, "org_interactive_s": 2.0}  # issue 29's targets
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def pages(db: Any) -> dict[str, str]:
    top = db["mart_org"].find_one({"depth": 0}, sort=[("total_reports", -1)]) or {}
    month = max((str(d["_id"]) for d in db["mart_release"].find()), default="")
    return {
        "overview": "/",
        "org": "/org",
        "org children (top)": "/org/children",
        "org children (largest team)": f"/org/children?id={top.get('_id')}",
        "org search": "/org/search?q=an",
        "manager (largest team)": f"/managers/{top.get('_id')}",
        "manager csv": f"/managers/{top.get('_id')}.csv",
        "segments": f"/segments?month={month}",
        "participation": "/participation",
        "runs": "/runs",
    }


def measure(mongo_uri: str, db_name: str, min_respondents: int = 5) -> dict[str, Any]:
    """The figures of `db_name`'s pages, with a user added for the purpose (and removed)."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    db = client[db_name]
    users.add(db, "bench", "admin", PASSWORD)
    settings = Settings(_env_file=None, mongo_uri=SecretStr(mongo_uri), mongo_db=db_name,  # type: ignore[call-arg]
                        peakon_min_respondents=min_respondents)  # fmt: skip
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Config(db, settings)), host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        session = requests.Session()
        form = session.get(f"{url}/login", timeout=30).text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        session.post(f"{url}/login", data={"csrf": csrf, "name": "bench", "password": PASSWORD}, timeout=30)
        found: dict[str, Any] = {"pages": {}}
        for name, path in pages(db).items():
            times, body = [], b""
            for _ in range(SAMPLES):
                started = time.perf_counter()
                reply = session.get(url + path, timeout=60)
                times.append(time.perf_counter() - started)
                assert reply.status_code == 200, (path, reply.status_code)
                body = reply.content
            assets = [weight(session, url + a) for a in sorted(set(ASSET.findall(body.decode())))]
            found["pages"][name] = {
                "p95_ms": round(statistics.quantiles(times, n=20)[18] * 1000, 1),
                "median_ms": round(statistics.median(times) * 1000, 1),
                "bytes_with_assets": len(body) + sum(sent for sent, _ in assets),  # pages are never zipped
                "unzipped_bytes_with_assets": len(body) + sum(size for _, size in assets),
            }
        found["org_interactive_s"] = statistics.median(usable(url, session, "/org", "#tree[data-ready=true]"))
        charts = usable(url, session, "/", "body[data-charts=ready]")  # ECharts: 1 MB to parse and run
        found["overview_charts_s"], found["overview_charts_first_s"] = statistics.median(charts), charts[0]
    finally:
        server.should_exit = True
        thread.join(10)
        users.remove(db, "bench")
        client.close()
    found["p95_ms_max"] = max(p["p95_ms"] for p in found["pages"].values())
    found["page_bytes_max"] = max(p["bytes_with_assets"] for p in found["pages"].values())
    found["within_targets"] = (
        found["p95_ms_max"] <= LIMITS["p95_ms"]
        and found["page_bytes_max"] <= LIMITS["page_bytes"]
        and found["org_interactive_s"] <= LIMITS["org_interactive_s"]
    )
    return found


def weight(session: requests.Session, url: str) -> tuple[int, int]:
    """(bytes transferred, bytes unzipped) of a GET with gzip accepted (requests' default, a browser's)."""
    reply = session.get(url, stream=True, timeout=30)
    sent = reply.raw.read(decode_content=False)
    zipped = reply.headers.get("content-encoding") == "gzip"
    return len(sent), len(gzip.decompress(sent)) if zipped else len(sent)


def usable(url: str, session: requests.Session, path: str, ready: str) -> list[float]:
    """Seconds from navigating to `path` until `ready` matches (the org map: its tree's first level
    in place; the overview: its charts drawn), 5 times in headless Chromium: the first with an empty
    cache, the others with its scripts cached."""
    cookies = [{"name": c.name, "value": c.value or "", "url": url} for c in session.cookies]
    seconds = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium(), headless=True, args=["--no-sandbox"])
        context = browser.new_context()
        context.add_cookies(cookies)  # type: ignore[arg-type]
        page = context.new_page()
        for _ in range(5):
            started = time.perf_counter()
            page.goto(url + path)
            page.wait_for_selector(ready)
            seconds.append(round(time.perf_counter() - started, 3))
        browser.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answers", type=int, default=20_000)
    parser.add_argument("--employees", type=int, default=2_000)
    args = parser.parse_args()
    with mongo() as server, simulator(args.answers, args.employees) as base_url, tempfile.TemporaryDirectory() as cwd:
        env = {"PEAKON_APP_TOKEN": DEFAULT_APP_TOKEN, "PEAKON_BASE_URL": base_url, "MONGO_URI": server.uri,
               "MONGO_DB": "bench_web", "PEAKON_PER_PAGE": "1000", "LOG_LEVEL": "WARNING", "PATH": ""}  # fmt: skip
        subprocess.run([sys.executable, "-m", "peakon_ingest.cli", "ingest"], env=env, cwd=cwd, check=True)
        found = measure(server.uri, "bench_web")
    sys.stdout.write(json.dumps({"answers": args.answers, "employees": args.employees, **found}, indent=2) + "\n")


if __name__ == "__main__":
    main()
