"""The analysts' MongoDB role: generated from the list of marts, it grants `find` on each mart and
nothing else. mongosh is not on these machines, so the script runs under Node with a stand-in `db`
that records the administrative calls it makes (the calls, not a server, are what is checked)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from peakon_ingest.devtools.marts_access import ROLE, render
from peakon_ingest.marts.options import NAMES, PREFIX

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "mongo" / "analyst-role.js"
HARNESS = """
const calls = [];
const record = (name) => (...args) => { calls.push([name, ...args]); };
globalThis.db = { getSiblingDB: (name) => { calls.push(["db", name]); return {
  getRole: () => EXISTING, getUser: () => EXISTING,
  createRole: record("createRole"), updateRole: record("updateRole"),
  createUser: record("createUser"), updateUser: record("updateUser"),
}; } };
globalThis.print = record("print");
try { require("vm").runInThisContext(require("fs").readFileSync(process.argv[1], "utf8")); }
finally { console.log(JSON.stringify(calls)); }
"""


def run(env: dict[str, str], *, existing: bool = False) -> tuple[int, list[list[Any]], str]:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:  # .ci/run installs it; elsewhere the check says what it needs, as shared/ checks do
        pytest.skip("needs node (apt-get install nodejs) to run deploy/mongo/analyst-role.js")
    harness = HARNESS.replace("EXISTING", "({})" if existing else "null")
    done = subprocess.run(
        [node, "-e", harness, str(SCRIPT)], env={"PATH": os.environ["PATH"], **env},
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_the_committed_script_is_generated_from_the_marts() -> None:
    assert SCRIPT.read_text() == render(), (
        "python -m peakon_ingest.devtools.marts_access > deploy/mongo/analyst-role.js"
    )


@pytest.mark.parametrize("server", ["fresh", "set up before"])
def test_the_role_reads_the_marts_and_nothing_else(server: str) -> None:
    existing = server != "fresh"
    code, calls, stderr = run({"MONGO_DB": "hr", "ANALYST_USER": "ana", "ANALYST_PASSWORD": "pw"}, existing=existing)
    assert code == 0, stderr
    verb = "update" if existing else "create"
    role = next(c for c in calls if c[0] == f"{verb}Role")
    privileges = role[2]["privileges"] if existing else role[1]["privileges"]
    readable = {p["resource"]["collection"] for p in privileges if p["actions"] == ["find"]}
    assert readable == {PREFIX + name for name in NAMES}
    assert all(p["resource"]["db"] == "hr" for p in privileges)
    others = [p for p in privileges if p["actions"] != ["find"]]
    assert others == [{"resource": {"db": "hr", "collection": ""}, "actions": ["listCollections"]}]
    user = next(c for c in calls if c[0] == f"{verb}User")
    assert user[-1]["roles"] == [{"role": ROLE, "db": "hr"}]
    assert ["db", "hr"] in calls


def test_without_a_password_it_stops_and_says_which_variable() -> None:
    code, calls, stderr = run({"MONGO_DB": "hr"})
    assert code != 0
    assert "ANALYST_PASSWORD: required" in stderr
    assert not [c for c in calls if c[0].endswith(("Role", "User"))]
