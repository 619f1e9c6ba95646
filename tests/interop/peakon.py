"""What the Peakon simulator holds, per tap-peakon stream and key, read over its API as a client would."""

from __future__ import annotations

import sys
from typing import Any

from peakon_simulator import DEFAULT_APP_TOKEN, SimulatorThread
from peakon_simulator.generator import load_catalog
from peakon_simulator.testing import bearer_session

TAP = [sys.executable, "-m", "tap_peakon"]
STREAMS = ("answers_export", "employees", "drivers", "scores_contexts", "scores_by_driver", "drivers_catalog")
# Streams the tap reads whole every run: a target may mark what is gone from them.
WHOLE = tuple(s for s in STREAMS if s != "answers_export")
UNPROCESSABLE = 422  # the scores of a driver Peakon has none for: the tap skips it


def tap_config(sim: SimulatorThread, **extra: Any) -> dict[str, Any]:
    """Every setting a user must give (no tenant defaults), the ACTIVATE_VERSION messages asked for."""
    return {
        "app_token": DEFAULT_APP_TOKEN, "base_url": sim.base_url, "company_id": sim.state.data.company_id,
        "per_page": 200, "emit_activate_version_messages": True, **extra,
    }  # fmt: skip


def simulator_items(sim: SimulatorThread) -> dict[str, dict[str, dict[str, Any]]]:
    """stream -> key (as text, the tap's `_id`) -> the item as the API serves it now."""
    session = bearer_session(sim)

    def pages(path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        url: str | None = f"{sim.base_url}{path}"
        while url:
            reply = session.get(url, timeout=30)
            reply.raise_for_status()
            body = reply.json()
            items += body["data"]
            url = body.get("links", {}).get("next") if body["data"] else None
        return items

    def scores(group: str) -> dict[str, dict[str, Any]]:
        path = f"/scores/contexts/company_{sim.state.data.company_id}/group/{group}"
        reply = session.get(f"{sim.base_url}{path}", timeout=30)
        if reply.status_code == UNPROCESSABLE:
            return {}
        reply.raise_for_status()
        return {f"{group}::{i['id']}::{i['attributes']['scores']['time']}": i for i in reply.json()["data"]}

    drivers = {d["id"]: d for d in pages("/engagement/drivers")}
    return {
        "answers_export": {str(a["attributes"]["answerId"]): a for a in pages("/answers/export?per_page=20000")},
        "employees": {str(int(e["id"])): e for e in pages("/employees?per_page=10000")},
        "drivers": drivers,
        "scores_contexts": scores("engagement"),
        "scores_by_driver": {k: v for d in drivers for k, v in scores(d).items()},
        "drivers_catalog": {
            str(int(c.id)): {"Id": c.id, "Driver": c.driver, "SubDriver": c.subdriver} for c in load_catalog()
        },
    }


def differences(stored: dict[str, Any], item: dict[str, Any]) -> list[str]:
    """The item's fields (the API's `attributes`, `relationships`; a catalog row's columns) the
    stored row does not hold as served."""
    fields: list[str] = [f for f in ("attributes", "relationships") if f in item] or list(item)
    return [f for f in fields if stored.get(f) != item[f]]
