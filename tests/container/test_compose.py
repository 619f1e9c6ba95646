"""docker-compose.yml on a real Docker engine, in the order a user meets it: the demo profile, the
pages (`web`, `web-demo`) over its marts, the default ingestor stopped during its start-up ingest
and during a scheduled one, two ingestors at once, and `down -v`. The steps share one compose
project and run in file order; each says what a user relies on. Run by `make container-test`
(tests/container/run.py), never by `make test`."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
from pymongo.database import Database

from tests.container.compose import SIMULATOR, Compose
from tests.reliability.checks import assert_bookmark_not_ahead

GRACE_SECONDS = 120  # docker-compose.yml: stop_grace_period of the ingestors
INGEST_UID = 10001
WEB_PORT, WEB_DEMO_PORT = 8080, 8081  # where compose publishes them (tests/container/compose.host-network.yml)
Db = Database[dict[str, Any]]


@pytest.fixture(scope="module")
def compose() -> Compose:
    return Compose.from_environment()


@pytest.fixture(scope="module")
def client(compose: Compose) -> Iterator[pymongo.MongoClient[dict[str, Any]]]:
    """MongoDB as root (through the stand-in's authentication, like every client of it)."""
    found: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        compose.mongo_uri(), serverSelectionTimeoutMS=10_000
    )
    with found:
        yield found


@pytest.fixture(scope="module")
def slow_simulator(compose: Compose) -> None:
    """MongoDB and the simulator up (as the demo left them, or started now), the answers export slowed
    to 0.3 s a page so an ingest is still running when the test stops it."""
    compose("--profile", "demo", "up", "-d", "--wait", "--wait-timeout", "300", "mongo", "simulator", timeout=400)
    simulator("POST", "faults", {"kind": "slow", "delay": 0.3, "times": -1, "path": "/answers/export"})


def wait_for(what: str, check: Callable[[], object], watched: tuple[Compose, str], timeout: float = 180) -> Any:
    """What `check` returns once true; fails at once if the watched service's container stops running."""
    compose, service = watched
    deadline = time.monotonic() + timeout
    while not (found := check()):
        inspected = compose.container(service)
        if inspected["State"]["Status"] != "running" or inspected["RestartCount"]:
            msg = f"{service} stopped while waiting for {what}: {inspected['State']}\n{compose.logs(service)[-3000:]}"
            raise AssertionError(msg)
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout:.0f} s waiting for {what}:\n{compose.logs(service)[-3000:]}"
            raise AssertionError(msg)
        time.sleep(0.5)
    return found


def simulator(method: str, action: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - the simulator on loopback
        f"{SIMULATOR}/_sim/{action}", method=method, data=json.dumps(body).encode() if body else None,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


@contextlib.contextmanager
def events() -> Iterator[list[tuple[str, str]]]:
    """(container name, action) of every container event while the block runs, in order. Streamed
    live from before the block: the daemon keeps only its last events for `--since`, and under load a
    start-up's healthcheck probes (three exec events each) pushed the earliest ones out."""
    found: list[tuple[str, str]] = []
    since = str(int(time.time()) - 1)
    stream = subprocess.Popen(
        ["docker", "events", "--since", since, "--filter", "type=container",
         "--format", "{{.Actor.Attributes.name}} {{.Action}}"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield found
        time.sleep(1)  # the block's last events reach the stream
    finally:
        stream.terminate()
        out, _ = stream.communicate(timeout=30)
    found.extend(tuple(line.split(" ", 1)) for line in out.splitlines())  # type: ignore[misc]


def first(found: list[tuple[str, str]], name: str, action: str) -> int:
    return next(i for i, (who, what) in enumerate(found) if who == name and what.strip() == action)


def uid_of(compose: Compose, service: str) -> int:
    """The user the container's main process (the daemon) runs as, read from /proc on the host."""
    pid = compose.container(service)["State"]["Pid"]
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("Uid:")).split()[1])


def stopped_cleanly(compose: Compose, service: str, seconds: float, index: int = 1) -> None:
    state = compose.container(service, index)["State"]
    assert (state["Status"], state["ExitCode"], state["OOMKilled"]) == ("exited", 0, False), state
    assert seconds < GRACE_SECONDS, f"the stop took {seconds:.0f} s: killed at the end of the grace period"


def interrupted_and_resumable(compose: Compose, db: Db, run_id: str) -> None:
    run = db["ingestion_runs"].find_one({"_id": run_id})
    assert run is not None
    assert run["status"] == "interrupted", run
    # Never ahead of the data (the next run starts there), and a page at least behind it.
    assert assert_bookmark_not_ahead(db, expected=True) >= int(compose.variables["PEAKON_PER_PAGE"])
    assert db["locks"].count_documents({}) == 0, "the lock was not released"


def test_the_demo_comes_up_behind_its_healthchecks_and_ingests_as_uid_10001(compose: Compose, client: Any) -> None:
    with events() as order:
        compose(
            "--profile",
            "demo",
            "up",
            "-d",
            "--wait",
            "--wait-timeout",
            "300",
            "mongo",
            "simulator",
            "ingestor-demo",
            timeout=400,
        )
    name = compose.name
    started = first(order, f"{name}-ingestor-demo-1", "start")
    assert first(order, f"{name}-mongo-1", "health_status: healthy") < started, order
    assert first(order, f"{name}-simulator-1", "health_status: healthy") < started, order
    assert compose.container("ingestor-demo")["State"]["Health"]["Status"] == "healthy"
    assert uid_of(compose, "ingestor-demo") == INGEST_UID
    assert compose("exec", "-T", "ingestor-demo", "id", "-u").stdout.strip() == str(INGEST_UID)
    demo = client["peakon_demo"]
    (run,) = demo["ingestion_runs"].find()
    assert run["status"] == "success", run
    assert run["counts"]["answers_export"]["inserted"] == simulator("GET", "state")["answers"]
    assert demo["answers_export"].count_documents({}) == run["counts"]["answers_export"]["inserted"]
    assert {"mart_manager_question", "mart_participation"} <= set(demo.list_collection_names())
    stopped_cleanly(compose, "ingestor-demo", compose.stop("ingestor-demo"))


def mongo(uri: str) -> pymongo.MongoClient[dict[str, Any]]:
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any) -> None:
        return None  # a 303 is an answer to look at, not to follow


def fetch(
    port: int, path: str, form: dict[str, str] | None = None, jar: http.cookiejar.CookieJar | None = None
) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of a GET, or of a POST of `form`, to the pages on 127.0.0.1:`port`;
    redirects are returned, not followed."""
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def test_the_pages_come_up_behind_their_healthchecks_as_uid_10001_and_ask_for_a_login(compose: Compose) -> None:
    with events() as order:
        compose("--profile", "demo", "up", "-d", "--wait", "--wait-timeout", "300", "web", "web-demo", timeout=400)
    for service, port in (("web", WEB_PORT), ("web-demo", WEB_DEMO_PORT)):
        container = f"{compose.name}-{service}-1"
        assert first(order, container, "start") < first(order, container, "health_status: healthy"), order
        assert uid_of(compose, service) == INGEST_UID
        assert fetch(port, "/healthz")[::2] == (200, '{"status":"ok"}')
        for page, login in (("/", "/login"), ("/org", "/login?next=/org"), ("/runs", "/login?next=/runs")):
            status, headers, _ = fetch(port, page)
            assert (status, headers["location"]) == (303, login), (service, page)
        status, headers, body = fetch(port, "/login")
        assert status == 200
        assert "default-src 'self'" in headers["content-security-policy"]
        assert 'name="password"' in body


def test_the_pages_read_the_marts_as_the_web_user_the_init_scripts_create(compose: Compose, client: Any) -> None:
    # The web user authenticates with its own password, and no other.
    with mongo(compose.mongo_uri("web")) as web:
        assert web["peakon_demo"]["mart_manager_question"].find_one() is not None
    wrong_uri = compose.mongo_uri("web").replace("mongodb://web:", "mongodb://web:wrong-")
    with (
        mongo(wrong_uri) as wrong,
        pytest.raises(pymongo.errors.OperationFailure, match="Authentication failed"),
    ):
        wrong["peakon_demo"]["mart_manager_question"].find_one()
    # A user added as the README says (as the ingestor's MongoDB user), then signed in to the demo's pages.
    password = secrets.token_urlsafe(16)
    compose(
        "--profile", "demo", "run", "--rm", "-T", "ingestor-demo", "peakon-ingest", "web-user", "add", "ana",
        "--role", "analyst", stdin=f"{password}\n",
    )  # fmt: skip
    assert client["peakon_demo"]["web_users"].find_one({"_id": "ana"}, {"role": 1}) == {"_id": "ana", "role": "analyst"}
    jar = http.cookiejar.CookieJar()
    _, _, form = fetch(WEB_DEMO_PORT, "/login", jar=jar)
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None, form
    status, headers, body = fetch(WEB_DEMO_PORT, "/login", {"csrf": token[1], "name": "ana", "password": password}, jar)
    assert (status, headers.get("location")) == (303, "/"), body[-2000:]
    status, _, overview = fetch(WEB_DEMO_PORT, "/", jar=jar)
    assert status == 200, overview[-2000:]
    assert "no released month yet" not in overview
    assert "Latest released month:" in overview
    assert "data-chart" in overview
    assert fetch(WEB_DEMO_PORT, "/runs", jar=jar)[0] == 403  # an analyst's role, read from web_users
    compose.stop("web", "web-demo")


@pytest.mark.usefixtures("slow_simulator")
def test_a_stop_during_the_start_up_ingest_records_it_interrupted(compose: Compose, client: Any) -> None:
    compose("up", "-d", "ingestor")
    db = client["peakon"]
    wait_for("2,000 answers stored", lambda: db["answers_export"].count_documents({}) >= 2000, (compose, "ingestor"))
    (run,) = db["ingestion_runs"].find()
    stopped_cleanly(compose, "ingestor", compose.stop("ingestor"))
    interrupted_and_resumable(compose, db, run["_id"])
    assert "the schedule is not started" in compose.logs("ingestor")


@pytest.mark.usefixtures("slow_simulator")
def test_a_stop_during_a_scheduled_ingest_records_it_interrupted(compose: Compose, client: Any) -> None:
    db = client["peakon"]
    before = db["answers_export"].count_documents({})
    compose.write_env(RUN_ON_START="false", SCHEDULE_CRON="*/2 * * * * * *")  # every 2 seconds
    compose("up", "-d", "ingestor")  # a new .env: the container is made anew
    running = wait_for(
        "a scheduled run", lambda: db["ingestion_runs"].find_one({"status": "running"}), (compose, "ingestor")
    )
    wait_for(
        "1,000 more answers", lambda: db["answers_export"].count_documents({}) >= before + 1000, (compose, "ingestor")
    )
    # Meanwhile a one-off ingest in a container of its own (pid 1 there; the scheduled ingest's pid
    # exists only in the first container): containers on host networking share the host's name, not
    # their process ids, so the lock's holder is never judged gone from another container's /proc.
    one_off = compose("run", "--rm", "-T", "ingestor", "peakon-ingest", "ingest", check=False)
    assert one_off.returncode == 1, one_off.stdout[-2000:] + one_off.stderr[-2000:]
    assert "another ingest is running" in one_off.stderr
    assert db["ingestion_runs"].count_documents({"status": "running"}) == 1
    stopped_cleanly(compose, "ingestor", compose.stop("ingestor"))
    interrupted_and_resumable(compose, db, running["_id"])
    logs = compose.logs("ingestor")
    assert "SIGTERM: waiting for the job" in logs
    assert "job exited" in logs


@pytest.mark.usefixtures("slow_simulator")
def test_two_ingestors_started_at_once_never_ingest_together(compose: Compose, client: Any) -> None:
    db = client["peakon"]
    known = {run["_id"] for run in db["ingestion_runs"].find()}
    compose.write_env(RUN_ON_START="true", SCHEDULE_CRON="0 3 * * 1")
    compose("up", "-d", "--scale", "ingestor=2", "ingestor")
    wait_for("a run", lambda: db["ingestion_runs"].find_one({"_id": {"$nin": list(known)}}), (compose, "ingestor"))
    wait_for(
        "the second's refusal", lambda: "another ingest is running" in compose.logs("ingestor"), (compose, "ingestor")
    )
    time.sleep(3)  # what a second ingest, wrongly started, would have recorded by now
    seconds = compose.stop("ingestor")
    for index in (1, 2):
        stopped_cleanly(compose, "ingestor", seconds, index)
    runs = sorted(
        (run for run in db["ingestion_runs"].find() if run["_id"] not in known), key=lambda run: run["started_at"]
    )
    assert len(runs) == 1, runs
    assert runs[0]["status"] == "interrupted"
    assert not db["ingestion_runs"].find_one({"status": "abandoned"})
    assert db["locks"].count_documents({}) == 0


def test_down_with_volumes_leaves_nothing_behind(compose: Compose) -> None:
    compose("--profile", "demo", "down", "-v", "--remove-orphans")
    label = f"label=com.docker.compose.project={compose.name}"
    for kind in ("container", "volume", "network"):
        listed = subprocess.run(
            ["docker", kind, "ls", *(["-a"] if kind == "container" else []), "-q", "--filter", label],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert listed.strip() == "", f"{kind}s left behind: {listed}"
