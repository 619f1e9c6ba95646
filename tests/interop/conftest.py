"""One PostgreSQL cluster per session; a database of its own per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.interop.postgres import Postgres, unavailable


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    with Postgres() as cluster:
        yield cluster


@pytest.fixture
def pg_database(postgres: Postgres) -> Iterator[str]:
    name = f"interop_{uuid.uuid4().hex[:12]}"
    postgres.create_database(name)
    yield name
    postgres.drop_database(name)
