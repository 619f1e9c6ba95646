"""Third-party Singer plugins the interoperability suite pipes ours with, each in a venv of its own.

The one home of their pins. `make interop-venvs` (a prerequisite of `make test`) runs this module,
which (re)creates a venv under `.venv-interop/` (or `INTEROP_VENVS`, which `make test` sets, so a
scratch copy of the project finds them too) only when its pin changed; the tests only read them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
VENVS = Path(os.environ.get("INTEROP_VENVS") or REPOSITORY / ".venv-interop")
# executable -> pip requirement. MeltanoLabs publish their plugins under these PyPI names (plain
# `target-postgres` and `tap-postgres` on PyPI are other, older projects).
PINS = {
    "target-postgres": "meltanolabs-target-postgres==0.8.1",
    "tap-postgres": "meltanolabs-tap-postgres==0.10.0",
    "target-jsonl": "target-jsonl==0.1.4",
}
_STAMP = ".installed-pin"


def _installed(name: str) -> bool:
    """Its pin is installed there (a venv's scripts name its path: a moved one must be made anew)."""
    stamp = VENVS / name / _STAMP
    return stamp.is_file() and stamp.read_text() == f"{PINS[name]} in {VENVS / name}"


def executable(name: str) -> Path:
    """The plugin's command, or an error saying how to install it (`make test` does it first)."""
    if not _installed(name):
        msg = f"{name} ({PINS[name]}) is not installed in {VENVS / name}: run `make interop-venvs`"
        raise RuntimeError(msg)
    return VENVS / name / "bin" / name


def install(name: str) -> None:
    if _installed(name):
        return
    home = VENVS / name
    venv.EnvBuilder(clear=True, with_pip=True).create(home)
    subprocess.run([home / "bin" / "python", "-m", "pip", "install", "--quiet", PINS[name]], check=True)
    (home / _STAMP).write_text(f"{PINS[name]} in {home}")


def main() -> None:
    for name, pin in PINS.items():
        install(name)
        print(f"{name}: {pin} in {VENVS / name}", file=sys.stderr)  # noqa: T201 - a make step


if __name__ == "__main__":
    main()
