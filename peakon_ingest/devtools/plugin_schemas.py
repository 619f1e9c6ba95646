"""`peakon_ingest/plugin_schemas.json`, generated:
`python -m peakon_ingest.devtools.plugin_schemas > peakon_ingest/plugin_schemas.json`.

The CLI's copy of the plugins' schemas of the settings `plugin_settings.TABLE` maps (reading the
copy spares every CLI start the SDK's imports). A test checks that the committed file is this output.
"""

from __future__ import annotations

import json

from tap_peakon import contract as tap_contract
from target_mongo_upsert import contract as target_contract

from peakon_ingest.plugin_settings import TABLE, TAP, TARGET


def render() -> str:
    schemas = {TAP: tap_contract.config_schema(), TARGET: target_contract.config_schema()}
    copies = {plugin: {m.setting: schemas[plugin]["properties"][m.setting] for m in TABLE[plugin]} for plugin in TABLE}
    return json.dumps(copies, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")  # noqa: T201 - the generated file on stdout
