"""Each plugin's Meltano Hub definition (`<plugin>/meltano-hub.yml`): valid as the Hub validates it, and
in step with what the plugin itself says (`--about`): settings, kinds, defaults, required settings,
capabilities."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from packaging.requirements import Requirement
from peakon_simulator.testing import shared_file
from referencing import Registry, Resource

from peakon_ingest.devtools.meltano_project import KINDS, about
from peakon_ingest.plugin_settings import TAP, TARGET

ROOT = Path(__file__).resolve().parents[2]
HUB_SCHEMA = {TAP: "extractors.schema.json", TARGET: "loaders.schema.json"}
PLUGINS = pytest.mark.parametrize("plugin", [TAP, TARGET])


def definition(plugin: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / plugin / "meltano-hub.yml").read_text())
    return loaded


def hub_validator(plugin: str) -> Draft7Validator:
    """As the Hub does it: every schema of common/ and plugin_definitions/ in one registry by `$id`."""
    schemas = shared_file(f"meltano-hub/schemas/plugin_definitions/{HUB_SCHEMA[plugin]}").parents[1]
    registry: Registry[Any] = Registry()
    for folder in ("common", "plugin_definitions"):
        for path in sorted((schemas / folder).glob("*.schema.json")):
            schema = json.loads(path.read_text())
            registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    main = json.loads((schemas / "plugin_definitions" / HUB_SCHEMA[plugin]).read_text())
    return Draft7Validator(main, registry=registry)


def hub_kind(schema: dict[str, Any]) -> str:
    """The Hub's kind of a setting from its JSON schema: a secret is a password, a list an array (even
    when a comma-separated text is accepted too); numbers as meltano.yml passes them (KINDS)."""
    types = schema.get("type", "string")
    types = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    if "enum" in schema:
        return "options"
    if schema.get("secret"):
        return "password"
    if "array" in types:
        return "array"
    if "string" in types:
        return "string"
    return KINDS[types[0]]


@PLUGINS
def test_the_hub_definition_validates_against_meltano_hubs_schema(plugin: str) -> None:
    errors = sorted(hub_validator(plugin).iter_errors(definition(plugin)), key=lambda e: list(e.path))
    assert not errors, f"{plugin}/meltano-hub.yml:\n" + "\n".join(
        f"{'.'.join(map(str, e.path)) or '(top)'}: {e.message[:200]}" for e in errors
    )


@PLUGINS
def test_the_hub_definition_installs_the_published_distribution_not_a_path(plugin: str) -> None:
    pip_url = definition(plugin)["pip_url"]
    assert not pip_url.startswith(("-e", ".", "/", "file:")), f"{plugin}: pip_url {pip_url!r} is a local path"
    project = tomllib.loads((ROOT / plugin / "pyproject.toml").read_text())["project"]["name"]
    assert Requirement(pip_url).name == project, f"{plugin}: pip_url {pip_url!r} does not name {project}"


@PLUGINS
def test_the_hub_definitions_settings_kinds_and_defaults_are_the_plugins_own(plugin: str) -> None:
    info = about(plugin)
    properties: dict[str, dict[str, Any]] = info["settings"]["properties"]
    settings = {s["name"]: s for s in definition(plugin)["settings"]}
    wrong = [f"{name}: not a setting of --about" for name in sorted(set(settings) - set(properties))]
    wrong += [f"{name}: in --about, missing here" for name in sorted(set(properties) - set(settings))]
    for name, schema in properties.items():
        if name not in settings:
            continue
        setting = settings[name]
        if setting.get("kind") != hub_kind(schema):
            wrong.append(f"{name}: kind {setting.get('kind')!r}, --about says {hub_kind(schema)!r}")
        if setting.get("value") != schema.get("default") or ("value" in setting) != ("default" in schema):
            said = repr(schema["default"]) if "default" in schema else "no default"
            wrong.append(f"{name}: value {setting.get('value', '(none)')!r}, --about says {said}")
        if bool(setting.get("sensitive")) != bool(schema.get("secret")):
            wrong.append(f"{name}: sensitive {setting.get('sensitive', False)}, --about secret {schema.get('secret')}")
        if "enum" in schema and {o["value"] for o in setting.get("options", [])} != set(schema["enum"]) - {None}:
            wrong.append(f"{name}: options {setting.get('options')}, --about enum {schema['enum']}")
    assert not wrong, f"{plugin}/meltano-hub.yml differs from --about:\n" + "\n".join(wrong)


@PLUGINS
def test_the_hub_definitions_required_settings_and_capabilities_are_the_plugins_own(plugin: str) -> None:
    info = about(plugin)
    hub = definition(plugin)
    groups = [set(group) for group in hub["settings_group_validation"]]
    in_every_group = set.intersection(*groups) if groups else set()
    required = set(info["settings"].get("required") or [])
    assert in_every_group == required, (
        f"{plugin}: settings_group_validation requires {sorted(in_every_group)} in every group; "
        f"--about requires {sorted(required)}"
    )
    defaulted = {s["name"] for s in hub["settings"] if "value" in s} & set().union(*groups)
    assert not defaulted, f"{plugin}: required settings with a default value: {sorted(defaulted)}"
    assert sorted(hub["capabilities"]) == sorted(info["capabilities"]), (
        f"{plugin}: capabilities {sorted(hub['capabilities'])}, --about says {sorted(info['capabilities'])}"
    )
