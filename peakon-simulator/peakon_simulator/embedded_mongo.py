"""Start and stop the embedded MongoDB wire-protocol server (`nx-27017`) on a loopback port.

Used by the test suite, the demo and the benchmarks; there is no `mongod` on these machines.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Self

from pymongo import MongoClient
from pymongo.errors import PyMongoError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _executable() -> str:
    beside = Path(sys.executable).with_name("nx-27017")
    found = str(beside) if beside.exists() else shutil.which("nx-27017")
    if found is None:
        msg = "nx-27017 is not installed: run `make venv` (or `pip install nx-27017`)"
        raise RuntimeError(msg)
    return found


class EmbeddedMongo:
    """One `nx-27017` process. `data_dir="memory"` keeps every database in memory."""

    def __init__(self, data_dir: str | Path = "memory", port: int | None = None) -> None:
        self.data_dir = str(data_dir)
        self.port = port or free_port()
        self._workdir = Path(tempfile.mkdtemp(prefix="nx27017-"))
        self.log_file = self._workdir / "server.log"
        self.pid_file = self._workdir / "server.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (benchmarks read its CPU time)."""
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 20.0) -> str:
        command = [
            _executable(), "--data-dir", self.data_dir, "--host", "127.0.0.1", "-p", str(self.port),
            "--pid-file", str(self.pid_file), "--log-file", str(self.log_file),
        ]  # fmt: skip
        # It logs every command at INFO to stdout; keep that out of our output.
        self._process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self._workdir
        )
        deadline = time.monotonic() + timeout
        with MongoClient[dict[str, Any]](self.uri, serverSelectionTimeoutMS=500) as client:
            while True:
                try:
                    client.admin.command("ping")
                except PyMongoError:
                    if self._process.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        msg = f"nx-27017 did not answer ping on port {self.port}; see {self.log_file}"
                        raise RuntimeError(msg) from None
                    time.sleep(0.1)
                else:
                    return self.uri

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self._workdir, ignore_errors=True)
