"""The container files: checked here, since Docker itself does not run on these machines."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import setuptools  # type: ignore[import-untyped]  # no stubs; only find_packages is used
import yaml
from peakon_simulator.testing import shared_file

from peakon_ingest.devtools.requirements import RUNTIME
from peakon_ingest.plugin_settings import TABLE, default
from peakon_ingest.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_follows_the_compose_specification() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    # The spec declares draft-07 (without the trailing '#' the validator looks for).
    validator = jsonschema.Draft7Validator(json.loads(shared_file("compose-spec.json").read_text()))
    validator.validate(compose)
    assert not validator.is_valid({**compose, "services": {"mongo": {"restart": ["always"]}}})  # it can fail
    services = compose["services"]
    assert services["mongo"]["image"] == "mongo:7"
    assert "healthcheck" in services["mongo"]
    assert any(v.startswith("mongo-data:") for v in services["mongo"]["volumes"])
    ingestor = services["ingestor"]
    assert ingestor["env_file"] == ".env"
    # Secrets as files, never in the environment; MongoDB with a root user and a least-privilege one.
    assert ingestor["environment"]["PEAKON_APP_TOKEN"] == ""
    assert ingestor["environment"]["PEAKON_APP_TOKEN_FILE"] == "/run/secrets/peakon_app_token"
    assert compose["secrets"]["peakon_app_token"] == {"environment": "PEAKON_APP_TOKEN"}
    assert ingestor["environment"]["MONGO_URI"].endswith("mongodb://ingest@mongo:27017/?authSource=admin}")
    assert services["mongo"]["environment"]["MONGO_INITDB_ROOT_PASSWORD_FILE"] == "/run/secrets/mongo_root_password"
    assert any(v.endswith("/docker-entrypoint-initdb.d/10-ingest-user.js:ro") for v in services["mongo"]["volumes"])
    assert ingestor["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert ingestor["restart"] == "unless-stopped"
    assert ingestor["tmpfs"] == services["ingestor-demo"]["tmpfs"] == ["/tmp"]  # noqa: S108 - private folders in memory
    assert services["simulator"]["profiles"] == ["demo"]
    assert services["ingestor-demo"]["environment"]["PEAKON_BASE_URL"] == "http://simulator:8089/api/v1"


def test_the_analysts_override_follows_the_specification_and_mounts_the_role_script() -> None:
    override = yaml.safe_load((ROOT / "deploy" / "compose.analysts.yml").read_text())
    jsonschema.Draft7Validator(json.loads(shared_file("compose-spec.json").read_text())).validate(override)
    mongo = override["services"]["mongo"]
    (mount,) = mongo["volumes"]
    source = mount.split(":")[0]
    assert (ROOT / source).is_file()
    assert mount.endswith(":/docker-entrypoint-initdb.d/20-analyst-role.js:ro")
    assert {"ANALYST_USER", "ANALYST_PASSWORD"} <= set(mongo["environment"])


def test_dockerfile_is_hadolint_clean_and_runs_as_non_root() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([str(hadolint), str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2  # multi-stage
    assert re.search(r"^USER 10001", text, re.MULTILINE)
    assert 'CMD ["peakon-ingest", "daemon"' in text
    assert re.search(r"sha1sum -c", text)  # supercronic is checked against a pinned checksum


def test_env_example_documents_every_setting_with_its_default() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {}
    for line in lines:
        if match := re.match(r"^#?\s*([A-Z_]+)=(.*)$", line):
            documented[match[1]] = match[2]
    fields = Settings.model_fields
    # Read by docker-compose.yml, not by us.
    compose_only = {"MONGO_ROOT_PASSWORD", "MONGO_INGEST_PASSWORD", "MONGO_WEB_PASSWORD"}
    assert set(documented) == {name.upper() for name in fields} | compose_only
    for name, field in fields.items():
        variable = name.upper()
        if variable in {"PEAKON_APP_TOKEN", "MONGO_URI", "PEAKON_APP_TOKEN_FILE", "MONGO_PASSWORD_FILE"}:
            continue
        # A variable mapped onto a plugin setting shows the plugin's default; the others the operator's.
        mapped = next((plugin for plugin, rows in TABLE.items() if any(m.variable == variable for m in rows)), None)
        value = default(mapped, variable) if mapped and field.default is None else field.default
        shown = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        assert documented[variable] in {shown, shown.removesuffix(".0")}, variable


def test_crontab_carries_the_default_schedule() -> None:
    entries = [line for line in (ROOT / "crontab").read_text().splitlines() if line and not line.startswith("#")]
    assert entries == [f"{Settings.model_fields['schedule_cron'].default} peakon-ingest ingest"]


RUNTIME_SET = [package if package == "." else f"./{package}" for package in RUNTIME]


def test_runtime_install_leaves_out_the_simulator() -> None:
    """What the image installs (the README's runtime set) resolves without the simulator or nx-27017."""
    assert " ".join(RUNTIME_SET) in (ROOT / "Dockerfile").read_text()
    report = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-",
         *RUNTIME_SET],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    names = {item["metadata"]["name"].lower() for item in json.loads(report.stdout)["install"]}
    assert {"tap-peakon", "target-mongo-upsert", "peakon-ingest", "singer-sdk", "pymongo"} <= names
    assert not names & {"peakon-simulator", "nx-27017", "pytest"}, names


def pins(lock: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from a pip-compile lock file."""
    found: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock):
        if match := re.match(r"([A-Za-z0-9_.\-]+)==([^\s\\]+)", block):
            found[match[1].lower().replace("_", "-")] = (match[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return found


def test_the_image_installs_every_dependency_pinned_and_hashed() -> None:
    from packaging.requirements import Requirement  # noqa: PLC0415 - only this test reads lock files

    from peakon_ingest.devtools.requirements import render  # noqa: PLC0415

    assert (ROOT / "deploy" / "requirements.in").read_text() == render(), "stale: run `make lock`"
    locked = pins((ROOT / "deploy" / "requirements.lock").read_text())
    for line in render().splitlines()[1:]:
        requirement = Requirement(line)
        version, _ = locked[requirement.name.lower().replace("_", "-")]
        assert requirement.specifier.contains(version), (line, version)
    assert all(hashes for _, hashes in locked.values())  # every package, dependencies of dependencies too
    assert not set(locked) & {"peakon-simulator", "nx-27017", "pytest"}
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r deploy/requirements.lock" in text
    assert "pip install --no-deps --no-build-isolation ./tap-peakon ./target-mongo-upsert ." in text
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".git", ".venv*"} <= set(ignored)  # no secret and no checkout history in the build context


def test_the_image_leaves_out_the_generators_of_a_source_checkout() -> None:
    """`peakon_ingest.devtools` is neither packaged nor sent to the build (`make lock` runs it from the checkout)."""
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    shipped = setuptools.find_packages(ROOT, include=find["include"], exclude=find.get("exclude", ()))
    assert {"peakon_ingest", "peakon_ingest.run", "peakon_ingest.schedule", "peakon_ingest.marts"} <= set(shipped)
    assert not [package for package in shipped if package.startswith("peakon_ingest.devtools")]
    assert "peakon_ingest/devtools" in (ROOT / ".dockerignore").read_text().splitlines()
    assert "python -m peakon_ingest.devtools.requirements" in (ROOT / "Makefile").read_text()
