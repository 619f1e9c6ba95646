"""docker compose, as the container test runs it: the project's docker-compose.yml with the
host-networking override, under a project name of its own, in a copy of the project that has a
`.env` made from `.env.example`."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ENV = "PEAKON_CONTAINER_TEST_PROJECT"
NAME = "peakon-ingest-container-test"
OVERRIDE = "tests/container/compose.host-network.yml"
SIMULATOR = "http://127.0.0.1:8089"


def environment_defaults() -> dict[str, str]:
    """What the test's .env sets beyond .env.example: the simulator's fake token and address, new
    passwords, and small answer pages so that an ingest runs long enough to be stopped midway."""
    return {
        "PEAKON_APP_TOKEN": "sim-app-token",
        "PEAKON_BASE_URL": "http://simulator:8089/api/v1",
        "PEAKON_PLAIN_HTTP_HOSTS": "simulator",
        "MONGO_ROOT_PASSWORD": secrets.token_urlsafe(12),
        "MONGO_INGEST_PASSWORD": secrets.token_urlsafe(12),
        "MONGO_WEB_PASSWORD": secrets.token_urlsafe(12),
        "PEAKON_PER_PAGE": "500",
    }


@dataclass
class Compose:
    project: Path
    config: Path
    name: str = NAME
    variables: dict[str, str] = field(default_factory=environment_defaults)

    @classmethod
    def from_environment(cls) -> Compose:
        return cls(Path(os.environ[PROJECT_ENV]), Path(os.environ["DOCKER_CONFIG"]))

    def __post_init__(self) -> None:
        os.environ[PROJECT_ENV] = str(self.project)
        os.environ["DOCKER_CONFIG"] = str(self.config)
        os.environ["COMPOSE_BAKE"] = "false"  # compose builds with its own BuildKit client (no buildx here)
        written = self.project / ".env"
        if written.exists():  # made by the first Compose of this copy: its passwords hold throughout
            lines = (line.split("=", 1) for line in written.read_text().splitlines() if "=" in line)
            self.variables |= {key: value for key, value in lines if key in self.variables}
        else:
            self.write_env()

    def write_env(self, **changes: str) -> None:
        """`.env` from `.env.example`, with the test's values (and `changes`) in place of the examples."""
        wanted = {**self.variables, **changes}
        lines = []
        for line in (self.project / ".env.example").read_text().splitlines():
            key = line.split("=", 1)[0]
            lines.append(f"{key}={wanted.pop(key)}" if "=" in line and key in wanted else line)
        lines += [f"{key}={value}" for key, value in wanted.items()]
        (self.project / ".env").write_text("\n".join(lines) + "\n")

    def __call__(
        self, *args: str, timeout: float = 300, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = ["docker", "compose", "--ansi", "never", "-p", self.name, "-f", "docker-compose.yml", "-f", OVERRIDE]
        done = subprocess.run(
            [*command, *args], cwd=self.project, input=stdin, capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            msg = (
                f"docker compose {' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
            raise AssertionError(msg)
        return done

    def container(self, service: str, index: int = 1) -> dict[str, Any]:
        done = subprocess.run(
            ["docker", "inspect", f"{self.name}-{service}-{index}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        found: list[dict[str, Any]] = json.loads(done.stdout)
        return found[0]

    def logs(self, service: str) -> str:
        return self("logs", "--no-color", service).stdout

    def stop(self, *services: str) -> float:
        """`docker compose stop` (each service's stop_grace_period applies): the seconds it took."""
        start = time.monotonic()
        self("stop", *services, timeout=600)
        return time.monotonic() - start

    def mongo_uri(self, user: str = "root") -> str:
        """As root, or as `ingest` or `web` (the users the init scripts create), with the test's password."""
        password = self.variables[f"MONGO_{user.upper()}_PASSWORD"]
        return f"mongodb://{user}:{password}@127.0.0.1:27017/?authSource=admin"
