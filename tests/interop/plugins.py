"""Third-party Singer plugins the interoperability suite pipes ours with, each in a venv of its own.

The one home of their pins. `make interop-venvs` (a prerequisite of `make test`) runs this module,
which (re)creates a venv under `.interop-venvs/` only when its pin changed; the tests only read them.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
VENVS = REPOSITORY / ".interop-venvs"
# executable -> pip requirement. MeltanoLabs publish their plugins under these PyPI names (plain
# `target-postgres` and `tap-postgres` on PyPI are other, older projects).
PINS = {
    "target-postgres": "meltanolabs-target-postgres==0.8.1",
    "tap-postgres": "meltanolabs-tap-postgres==0.10.0",
    "target-jsonl": "target-jsonl==0.1.4",
}
_STAMP = ".installed-pin"


def executable(name: str) -> Path:
    """The plugin's command, or an error saying how to install it (`make test` does it first)."""
    home = VENVS / name
    stamp = home / _STAMP
    if not stamp.is_file() or stamp.read_text() != PINS[name]:
        msg = f"{name} ({PINS[name]}) is not installed in {home}: run `make interop-venvs`"
        raise RuntimeError(msg)
    return home / "bin" / name


def install(name: str) -> None:
    home = VENVS / name
    stamp = home / _STAMP
    if stamp.is_file() and stamp.read_text() == PINS[name]:
        return
    venv.EnvBuilder(clear=True, with_pip=True).create(home)
    python = str(home / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", PINS[name]], check=True)
    stamp.write_text(PINS[name])


def main() -> None:
    for name, pin in PINS.items():
        install(name)
        print(f"{name}: {pin} in {VENVS / name}", file=sys.stderr)  # noqa: T201 - a make step


if __name__ == "__main__":
    main()
