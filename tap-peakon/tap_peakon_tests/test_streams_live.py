"""tap-peakon against the simulator over real HTTP: every stream, paging, state and incremental runs."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from peakon_simulator import SimulatorThread
from peakon_simulator.generator import DRIVER_SLUGS
from peakon_simulator.testing import SimulatorFactory, control
from tap_peakon.streams import EMPLOYEES_PER_PAGE

from .helpers import run_tap, tap_config


def answer_requests(sim: SimulatorThread) -> list[dict[str, list[str]]]:
    log = control(sim, "GET", "requests")["requests"]
    return [parse_qs(r["query"]) for r in log if r["path"].endswith("/answers/export")]


def test_every_stream_with_its_keys_and_envelope(simulator: SimulatorThread) -> None:
    out = run_tap(tap_config(simulator, run_id="0b4c8a1e-0000-4000-8000-000000000001"))
    assert out.error is None
    counts = {name: len(records) for name, records in out.records.items()}
    assert counts == {
        "answers_export": 2500,
        "employees": 250,
        "drivers": len(DRIVER_SLUGS),
        "scores_contexts": 17 * 4,
        "scores_by_driver": 17 * 4,  # only `engagement` is also a category group; the rest are 422
        "drivers_catalog": 17,
    }
    for name, records in out.records.items():
        ids = [r["_id"] for r in records]
        assert len(ids) == len(set(ids)), name
        for record in records:
            assert record["endpoint"] == name
            assert record["run_id"] == "0b4c8a1e-0000-4000-8000-000000000001"
            assert record["fetched_at"].endswith("+00:00")
            assert record["source_url"]
    answer = out.records["answers_export"][0]
    assert answer["_id"] == answer["attributes"]["answerId"] == int(answer["id"])
    assert {r["_id"] for r in out.records["employees"]} == set(range(5000, 5250))
    score = out.records["scores_contexts"][0]
    assert score["_id"] == f"engagement::{score['id']}::{score['attributes']['scores']['time']}"
    by_driver = out.records["scores_by_driver"][0]
    assert by_driver["driver_id"] == "engagement"
    assert by_driver["_id"].startswith("engagement::")
    assert out.tap.stats.skipped_drivers == set(DRIVER_SLUGS) - {"engagement"}
    assert out.records["drivers_catalog"][0] == {**out.records["drivers_catalog"][0], "_id": 1527152, "Id": "1527152"}


def test_25000_answers_at_1000_per_page_is_25_pages_each_answer_once(make_simulator: SimulatorFactory) -> None:
    sim = make_simulator(answers=25_000)
    out = run_tap(tap_config(sim, per_page=1000), streams={"answers_export"})
    assert out.error is None
    ids = out.ids("answers_export")
    assert len(ids) == len(set(ids)) == 25_000
    assert len(answer_requests(sim)) == 25
    bookmarks = [
        s["bookmarks"]["answers_export"]["replication_key_value"]
        for s in out.states
        if "answers_export" in s.get("bookmarks", {})
    ]
    assert len(set(bookmarks)) >= 25  # a STATE at every page boundary, advancing
    assert bookmarks == sorted(bookmarks)
    assert out.final_state["bookmarks"]["answers_export"]["replication_key_value"] == max(ids)


@pytest.mark.parametrize("form", ["absolute", "root-relative", "relative", "query"])
def test_every_page_is_read_exactly_once_whatever_the_next_link_form(
    make_simulator: SimulatorFactory, form: str
) -> None:
    sim = make_simulator(answers=2_300, employees=250, employees_per_page=100, next_link_form=form)
    out = run_tap(tap_config(sim, per_page=500), streams={"answers_export", "employees"})
    assert out.error is None
    log = control(sim, "GET", "requests")["requests"]
    for path, pages in (("/answers/export", 5), ("/employees", 3)):
        queries = [r["query"] for r in log if r["path"].endswith(path)]
        assert len(queries) == len(set(queries)) == pages, (path, queries)
        assert all(r["path"] == f"/api/v1{path}" for r in log if r["path"].endswith(path))
    assert sorted(out.ids("answers_export")) == sorted(set(out.ids("answers_export")))
    assert len(out.ids("answers_export")) == 2_300
    assert len(set(out.ids("employees"))) == len(out.ids("employees")) == 250


@pytest.mark.parametrize(("last_page_next", "requests"), [("self", 5), ("empty", 6)])
def test_a_server_that_says_nothing_more_yet_ends_the_stream(
    make_simulator: SimulatorFactory, last_page_next: str, requests: int
) -> None:
    """A last page whose next link is itself, or leads to an empty page: success, every answer once."""
    sim = make_simulator(answers=2_300, last_page_next=last_page_next)
    out = run_tap(tap_config(sim, per_page=500), streams={"answers_export"})
    assert out.error is None
    assert sorted(out.ids("answers_export")) == sorted(set(out.ids("answers_export")))
    assert len(out.ids("answers_export")) == 2_300
    assert len(answer_requests(sim)) == requests


def test_second_run_with_state_requests_only_new_answers(simulator: SimulatorThread) -> None:
    first = run_tap(tap_config(simulator), streams={"answers_export"})
    control(simulator, "DELETE", "requests")  # a fresh request log; same data, same tokens
    control(simulator, "POST", "answers", {"count": 321})
    second = run_tap(tap_config(simulator), state=first.final_state, streams={"answers_export"})
    assert second.error is None
    new_ids = second.ids("answers_export")
    assert len(new_ids) == 321
    assert min(new_ids) > max(first.ids("answers_export"))
    requests_made = answer_requests(simulator)
    assert requests_made[0]["continuation"] == [str(max(first.ids("answers_export")))]
    assert len(requests_made) == 1


def test_incremental_run_without_new_data_makes_one_request(simulator: SimulatorThread) -> None:
    first = run_tap(tap_config(simulator), streams={"answers_export"})
    control(simulator, "DELETE", "requests")
    again = run_tap(tap_config(simulator), state=first.final_state, streams={"answers_export"})
    assert again.ids("answers_export") == []
    assert len(answer_requests(simulator)) == 1


@pytest.mark.parametrize("meta_paging", [False, True], ids=["links-next", "meta-page"])
def test_employees_by_links_next_and_by_meta_pages(make_simulator: SimulatorFactory, meta_paging: bool) -> None:  # noqa: FBT001
    sim = make_simulator(employees=1234, employees_meta_paging=meta_paging, employees_per_page=100)
    out = run_tap(tap_config(sim), streams={"employees"})
    assert out.error is None
    assert sorted(out.ids("employees")) == list(range(5000, 5000 + 1234))
    assert out.final_state["bookmarks"]["employees"]["last_employee_id"] == 5000 + 1233
    assert out.tap.stats.pages_by_stream["employees"] == 13  # the server clamps pages to 100
    first = next(r for r in control(sim, "GET", "requests")["requests"] if r["path"].endswith("/employees"))
    assert first["query"] == f"per_page={EMPLOYEES_PER_PAGE}"  # the largest page Peakon accepts


def test_auth_fallbacks_form_and_token_in_attributes(make_simulator: SimulatorFactory) -> None:
    sim = make_simulator(auth_form_only=True, token_in_attributes=True)
    out = run_tap(tap_config(sim), streams={"drivers"})
    assert out.error is None
    assert len(out.records["drivers"]) == len(DRIVER_SLUGS)


def test_unknown_app_token_fails_clearly(simulator: SimulatorThread) -> None:
    out = run_tap(tap_config(simulator, app_token="wrong"), streams={"drivers"})
    assert out.error is not None
    assert str(out.error) == f"application token not recognised by {simulator.base_url}"


def test_stream_counts_match_the_summary(simulator: SimulatorThread) -> None:
    out = run_tap(tap_config(simulator))
    summary = out.tap.stats.summary()
    log = control(simulator, "GET", "requests")["requests"]
    assert summary["requests"] == len(log)
    assert summary["skipped_drivers"] == len(DRIVER_SLUGS) - 1
    assert Counter(r["status"] for r in log)[422] == len(DRIVER_SLUGS) - 1


def test_batch_mode_writes_one_file_per_page_and_moves_the_bookmark(tmp_path: Path, simulator: SimulatorThread) -> None:
    batch_config = {"encoding": {"format": "jsonl", "compression": "none"}, "storage": {"root": tmp_path.as_uri()}}
    out = run_tap(tap_config(simulator, batch_config=batch_config), streams={"answers_export", "drivers"})
    assert out.error is None
    batches = [m for m in out.messages if m["type"] == "BATCH"]
    assert [m["stream"] for m in batches] == ["answers_export"] * 3  # 2500 answers, 1000 a page
    ids = []
    for message in batches:
        (url,) = message["manifest"]
        path = Path(url.removeprefix("file://"))
        assert path.stat().st_mode & 0o777 == 0o600
        ids += [json.loads(line)["_id"] for line in path.read_text().splitlines()]
    assert ids == sorted(set(ids))
    assert len(ids) == 2500
    bookmarks = [s["bookmarks"]["answers_export"].get("replication_key_value") for s in out.states]
    assert [b for b in bookmarks if b] == sorted(b for b in bookmarks if b)
    assert out.final_state["bookmarks"]["answers_export"]["replication_key_value"] == ids[-1]
    assert len(out.records["drivers"]) == 18  # small streams stay plain records

    control(simulator, "DELETE", "requests")
    control(simulator, "POST", "answers", {"count": 10})
    again = run_tap(tap_config(simulator, batch_config=batch_config), state=out.final_state, streams={"answers_export"})
    assert answer_requests(simulator)[0]["continuation"] == [str(ids[-1])]
    assert len([m for m in again.messages if m["type"] == "BATCH"]) == 1


def test_batch_mode_waits_while_too_many_files_are_unconsumed(tmp_path: Path, simulator: SimulatorThread) -> None:
    """With nobody deleting the files, the tap stops after the allowed number and waits."""
    batch_config = {"encoding": {"format": "jsonl", "compression": "none"}, "storage": {"root": tmp_path.as_uri()}}
    config = tap_config(simulator, batch_config=batch_config, batch_max_pending_files=2)
    finished = threading.Event()

    def sync() -> None:
        run_tap(config, streams={"answers_export"})
        finished.set()

    worker = threading.Thread(target=sync, daemon=True)
    worker.start()
    deadline = time.monotonic() + 10
    while len(list(tmp_path.glob("*.jsonl"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    assert len(list(tmp_path.glob("*.jsonl"))) == 2  # the third page waits
    assert not finished.is_set()
    for path in tmp_path.glob("*.jsonl"):
        path.unlink()  # what the target does once it has committed a file
    assert finished.wait(timeout=20)


ODD_PAGES = [{}, {"odd_answers_every": 7, "hostile_answers_every": 11}, {"gzip_responses": True}]


@pytest.mark.parametrize("switches", ODD_PAGES)
def test_page_files_hold_exactly_the_records_the_record_path_emits(
    tmp_path: Path, make_simulator: SimulatorFactory, switches: dict[str, Any]
) -> None:
    """Page-file lines are made from the page's bytes (described items) or decoded (drift, hostile
    keys, envelope names): either way each line is the record the record path emits, field order
    included, and both paths count the same drift and move the bookmark to the same answer."""
    sim = make_simulator(answers=2_300, **switches)
    config = tap_config(sim, run_id="same-run")
    batch_config = {"encoding": {"format": "jsonl", "compression": "none"}, "storage": {"root": tmp_path.as_uri()}}
    plain = run_tap(config, streams={"answers_export"})
    paged = run_tap({**config, "batch_config": batch_config}, streams={"answers_export"})
    assert plain.error is None
    assert paged.error is None
    lines = []
    for message in paged.messages:
        if message["type"] == "BATCH":
            lines += Path(message["manifest"][0].removeprefix("file://")).read_text().splitlines()

    def comparable(record: dict[str, Any]) -> list[tuple[str, Any]]:
        return [(name, value) for name, value in record.items() if name != "fetched_at"]

    assert [comparable(json.loads(text)) for text in lines] == [comparable(r) for r in plain.records["answers_export"]]
    assert paged.tap.stats.schema_drift == plain.tap.stats.schema_drift
    assert paged.tap.stats.answers_reached == plain.tap.stats.answers_reached
    assert paged.final_state["bookmarks"]["answers_export"] == plain.final_state["bookmarks"]["answers_export"]
