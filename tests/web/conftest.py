"""The pages over real HTTP: marts built by a real ingest from the simulator, the app served by
uvicorn on 127.0.0.1, read with real pymongo from the embedded server."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from peakon_simulator.testing import start_simulator
from pydantic import SecretStr
from pymongo import MongoClient
from pymongo.database import Database

from peakon_ingest.settings import Settings
from peakon_ingest.web import users
from peakon_ingest.web.app import Config, create_app
from tests.cli.helpers import cli_env, run_cli

Db = Database[dict[str, Any]]
PASSWORD = "correct horse battery"
K = 3  # small teams of the simulator then publish direct groups too
XSS = "<img src=x onerror=\"document.title='pwned'\">"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    url: str
    db: Db
    config: Config
    mongo_uri: str

    def session(self, name: str | None = None, password: str = PASSWORD) -> requests.Session:
        """A browser-like session, logged in as `name` when given."""
        session = requests.Session()
        if name is not None:
            reply = login(self, session, name, password)
            assert reply.status_code == 303, reply.text[-500:]
        return session


def login(site: Site, session: requests.Session, name: str, password: str) -> requests.Response:
    form = session.get(f"{site.url}/login", timeout=10)
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    data = {"csrf": csrf, "name": name, "password": password, "next": "/"}
    return session.post(f"{site.url}/login", data=data, allow_redirects=False, timeout=10)


class Served:
    """uvicorn in a thread of this process, stopped at the end."""

    def __init__(self, config: Config) -> None:
        self.port = free_port()
        server_config = uvicorn.Config(create_app(config), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(server_config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def settings_for(mongo_uri: str, name: str, **extra: Any) -> Settings:
    extra.setdefault("peakon_min_respondents", K)
    return Settings(_env_file=None, mongo_uri=SecretStr(mongo_uri), mongo_db=name, **extra)  # type: ignore[call-arg]


def serve(db: Db, mongo_uri: str, **extra: Any) -> tuple[Site, Served]:
    config = Config(db, settings_for(mongo_uri, db.name, **extra))
    served = Served(config)
    return Site(f"http://127.0.0.1:{served.port}", db, config, mongo_uri), served


@pytest.fixture(scope="session")
def released_db(
    mongo_client: MongoClient[dict[str, Any]], mongo_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Db]:
    """Marts of four released months from a real ingest, two users, and one question text that
    holds markup (as a tenant's could)."""
    name = f"web_{uuid.uuid4().hex[:10]}"
    sim = start_simulator(answers=2500, employees=250, minutes_per_response=700)
    try:
        done = run_cli(
            ["ingest"],
            cli_env(sim, mongo_uri, name, PEAKON_MIN_RESPONDENTS=str(K)),
            Path(tmp_path_factory.mktemp("ingest")),
        )
    finally:
        sim.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    db = mongo_client[name]
    first = db["mart_manager_question"].find_one({"scope": "direct"})
    assert first is not None
    db["mart_manager_question"].update_many({"question_id": first["question_id"]}, {"$set": {"question_text": XSS}})
    users.add(db, "ana", "analyst", PASSWORD)
    users.add(db, "ada", "admin", PASSWORD)
    yield db
    mongo_client.drop_database(name)


@pytest.fixture(scope="session")
def site(released_db: Db, mongo_uri: str) -> Iterator[Site]:
    found, served = serve(released_db, mongo_uri)
    yield found
    served.stop()


@pytest.fixture
def empty_site(mongo_db: Db, mongo_uri: str) -> Iterator[Site]:
    users.add(mongo_db, "ana", "analyst", PASSWORD)
    found, served = serve(mongo_db, mongo_uri)
    yield found
    served.stop()
