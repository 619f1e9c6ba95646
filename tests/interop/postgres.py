"""A scratch PostgreSQL cluster for the interoperability suite: the machine's own binaries.

initdb'd in a temporary directory, started on a free loopback port (unix sockets in that directory
too), trust authentication for the `postgres` role, stopped and removed at the end. PostgreSQL
refuses to run as root, so as root the cluster belongs to the OS user `postgres`.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Self

from peakon_simulator.embedded_mongo import free_port

# Debian's PostgreSQL 15 (`apt-get install postgresql-15`, as .ci/run does), else whatever is on PATH.
DEBIAN_BIN = Path("/usr/lib/postgresql/15/bin")
ROLE = "postgres"


def binaries() -> Path | None:
    if (DEBIAN_BIN / "initdb").is_file():
        return DEBIAN_BIN
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def unavailable() -> str | None:
    """Why no cluster can be started here (one line), or None."""
    if binaries() is None:
        return "no PostgreSQL server binaries (initdb): .ci/run installs Debian's postgresql-15"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(ROLE)
        except KeyError:
            return "running as root and there is no OS user `postgres` to run PostgreSQL as"
    return None


class Postgres:
    """One cluster. `sql()` runs a statement with psql; `rows()` reads a query's rows as JSON."""

    def __init__(self) -> None:
        bin_dir = binaries()
        assert bin_dir is not None, unavailable()
        self.bin = bin_dir
        self.port = free_port()
        self.home = Path(tempfile.mkdtemp(prefix="interop-pg-"))
        self.data = self.home / "data"
        self.log = self.home / "server.log"
        self._owner: dict[str, Any] = {}
        if os.geteuid() == 0:  # initdb and postgres refuse root: the cluster is the `postgres` user's
            account = pwd.getpwnam(ROLE)
            os.chown(self.home, account.pw_uid, account.pw_gid)
            self._owner = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def _as_owner(self, *command: str) -> None:
        done = subprocess.run(
            [str(self.bin / command[0]), *command[1:]],
            capture_output=True, text=True, cwd=self.home, check=False, **self._owner,
        )  # fmt: skip
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            msg = f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{log}"
            raise RuntimeError(msg)

    def start(self) -> Self:
        self._as_owner("initdb", "-D", str(self.data), "-U", ROLE, "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.home} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._as_owner("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_owner("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connection(self, database: str) -> dict[str, Any]:
        """The settings MeltanoLabs' tap-postgres and target-postgres both take."""
        return {"host": "127.0.0.1", "port": self.port, "user": ROLE, "password": "", "database": database}

    def psql(self, database: str, sql: str) -> str:
        done = subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", ROLE, "-d", database,
             "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            msg = f"psql on {database} failed: {done.stderr.strip()}\n{sql[:500]}"
            raise RuntimeError(msg)
        return done.stdout

    def sql(self, database: str, sql: str) -> None:
        self.psql(database, sql)

    def rows(self, database: str, query: str) -> list[dict[str, Any]]:
        """The query's rows as JSON objects (jsonb columns as JSON, timestamps as ISO text)."""
        text = self.psql(database, f"SELECT coalesce(json_agg(q), '[]'::json) FROM ({query}) AS q")  # noqa: S608
        rows: list[dict[str, Any]] = json.loads(text)
        return rows

    def tables(self, database: str, schema: str) -> set[str]:
        query = f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}'"  # noqa: S608
        found = self.rows(database, query)
        return {row["table_name"] for row in found}

    def create_database(self, name: str) -> None:
        self.sql("postgres", f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        self.sql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
