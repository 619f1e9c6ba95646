"""The simulator answers as Peakon's published OpenAPI spec says (validated with openapi-core)."""

from __future__ import annotations

import json

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from peakon_simulator import SimulatorThread
from peakon_simulator.generator import load_catalog
from peakon_simulator.testing import SimulatorFactory, shared_file


def spec_for(sim: SimulatorThread) -> OpenAPI:
    spec = json.loads(shared_file("peakon/openapi.json").read_text())
    spec["servers"] = [{"url": sim.base_url}]  # the published server is Peakon's; ours is on loopback
    return OpenAPI.from_dict(spec)


def validated(
    openapi: OpenAPI, session: requests.Session, method: str, url: str, **kwargs: object
) -> requests.Response:
    reply = session.request(method, url, timeout=10, **kwargs)  # type: ignore[arg-type]
    assert reply.status_code == 200, reply.text
    openapi.validate_response(RequestsOpenAPIRequest(reply.request), RequestsOpenAPIResponse(reply))
    return reply


@pytest.mark.parametrize(
    "switches",
    [{}, {"employees_meta_paging": True}, {"token_in_attributes": True}],
    ids=["default", "meta-paging", "token-in-attributes"],
)
def test_every_endpoint_matches_the_spec(make_simulator: SimulatorFactory, switches: dict[str, bool]) -> None:
    sim = make_simulator(answers=3_000, employees=120, **switches)
    openapi = spec_for(sim)
    session = requests.Session()
    auth = validated(openapi, session, "POST", f"{sim.base_url}/auth/application", json={"token": "sim-app-token"})
    data = auth.json()["data"]
    session.headers["Authorization"] = f"Bearer {data.get('attributes', {}).get('token') or data['id']}"

    next_url: str | None = f"{sim.base_url}/answers/export?per_page=1000"
    while next_url:  # every page of the export, the last one with links.next null
        next_url = validated(openapi, session, "GET", next_url).json()["links"]["next"]
    validated(openapi, session, "GET", f"{sim.base_url}/employees")
    validated(openapi, session, "GET", f"{sim.base_url}/employees/count")
    validated(openapi, session, "GET", f"{sim.base_url}/engagement/drivers")
    validated(openapi, session, "GET", f"{sim.base_url}/scores/contexts/company_22182/group/engagement")


def test_packaged_catalog_is_the_shared_one() -> None:
    rows = [line.split(",") for line in shared_file("peakon/drivers_catalog.csv").read_text().splitlines()[1:]]
    assert [(c.id, c.driver, c.subdriver or "") for c in load_catalog()] == [tuple(r) for r in rows]


def test_validation_rejects_a_body_the_spec_forbids(simulator: SimulatorThread) -> None:
    """Guards the test above: a wrong shape must not validate."""
    openapi = spec_for(simulator)
    reply = requests.post(f"{simulator.base_url}/auth/application", json={"token": "sim-app-token"}, timeout=5)
    reply._content = json.dumps({"data": {"type": "bearer_tokens", "id": 12345}}).encode()  # id must be a string
    with pytest.raises(Exception, match=r"12345 is not of type .string."):
        openapi.validate_response(RequestsOpenAPIRequest(reply.request), RequestsOpenAPIResponse(reply))
