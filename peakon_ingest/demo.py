"""`make demo`: the simulator and the embedded MongoDB, started side by side and shown to answer."""

from __future__ import annotations

from typing import Any

import requests
from pymongo import MongoClient
from rich.console import Console

from peakon_ingest.embedded_mongo import EmbeddedMongo
from peakon_ingest.simulator import DEFAULT_APP_TOKEN, SimulatorState, SimulatorThread

console = Console()


def main() -> None:
    state = SimulatorState(answers=25_000, employees=500, seed=1, company_id=22182, app_token=DEFAULT_APP_TOKEN)
    with SimulatorThread(state) as sim, EmbeddedMongo() as mongo:
        health = requests.get(f"{sim.root}/_sim/state", timeout=5).json()
        console.print(
            f"Peakon simulator on {sim.base_url}: {health['answers']} answers, {health['employees']} employees"
        )
        with MongoClient[dict[str, Any]](mongo.uri, serverSelectionTimeoutMS=5000) as client:
            console.print(f"Embedded MongoDB on {mongo.uri}: ping {client.admin.command('ping')}")


if __name__ == "__main__":
    main()
