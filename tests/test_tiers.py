"""The tiers of the root conftest.py name places that exist, so a moved file never drops silently
into the default tier."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_place_a_tier_names_exists(request: pytest.FixtureRequest) -> None:
    conftest = request.config.pluginmanager.get_plugin(str(ROOT / "conftest.py"))
    assert conftest is not None
    missing = [place for places in conftest.TIERS.values() for place in places if not (ROOT / place).exists()]
    assert missing == []


def test_this_file_is_in_the_unit_tier(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None
