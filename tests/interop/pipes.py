"""`tap | target` as two real child processes, each with its config file, as a data engineer runs them."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Piped:
    tap_log: str
    target_log: str
    target_stdout: str


def run_pipe(
    workdir: Path,
    tap: list[str],
    tap_config: dict[str, Any],
    target: list[str],
    target_config: dict[str, Any],
    *,
    tap_args: tuple[str, ...] = (),
    name: str = "run",
) -> Piped:
    """Pipe the tap into the target; both must exit 0 (else the failure quotes their logs)."""
    workdir.mkdir(parents=True, exist_ok=True)
    tap_file, target_file = workdir / f"{name}.tap.json", workdir / f"{name}.target.json"
    tap_file.write_text(json.dumps(tap_config))
    target_file.write_text(json.dumps(target_config))
    tap_log_path, target_log_path = workdir / f"{name}.tap.log", workdir / f"{name}.target.log"
    with tap_log_path.open("w") as tap_log, target_log_path.open("w") as target_log:
        producer = subprocess.Popen(
            [*tap, "--config", str(tap_file), *tap_args], stdout=subprocess.PIPE, stderr=tap_log
        )
        consumer = subprocess.run(
            [*target, "--config", str(target_file)],
            stdin=producer.stdout, stdout=subprocess.PIPE, stderr=target_log, timeout=600, check=False,
        )  # fmt: skip
        assert producer.stdout is not None
        producer.stdout.close()
        tap_code = producer.wait(timeout=120)
    piped = Piped(tap_log_path.read_text(), target_log_path.read_text(), consumer.stdout.decode())
    assert tap_code == 0, f"{name}: {tap[-1]} exited {tap_code}:\n{piped.tap_log[-3000:]}"
    assert consumer.returncode == 0, f"{name}: {target[-1]} exited {consumer.returncode}:\n{piped.target_log[-3000:]}"
    return piped
