"""`make mutants` can only catch what it can apply: every listed mutation's file holds its snippet
once, and the tests it runs exist (a file moved or a line rewritten would make it fail late)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mutants.run import MUTATIONS, Mutation

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.name for m in MUTATIONS])
def test_each_mutation_applies_once_and_names_tests_that_exist(mutation: Mutation) -> None:
    source = ROOT / mutation.file
    assert source.is_file(), mutation.file
    assert source.read_text(encoding="utf-8").count(mutation.old) == 1, f"{mutation.file}: snippet not found once"
    assert mutation.old != mutation.new
    suite = mutation.tests[0].split("::")[0]
    assert (ROOT / suite).exists(), suite


def test_mutation_names_are_unique() -> None:
    names = [m.name for m in MUTATIONS]
    assert len(names) == len(set(names))
