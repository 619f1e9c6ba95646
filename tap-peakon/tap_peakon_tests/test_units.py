"""Unit tests of single functions: keys, Retry-After, paging links, limiter, token handling."""

from __future__ import annotations

import email.utils
import json

import pytest
import requests
import requests_mock
from tap_peakon.auth import AuthenticationError, exchange_token, extract_token
from tap_peakon.error_policy import Action, action_for, exponential_wait, parse_retry_after
from tap_peakon.keys import answer_key, score_key, stable_hash
from tap_peakon.page import Outline, Page
from tap_peakon.pagination import PaginationLoopError, PeakonPaginator, resolve_link
from tap_peakon.rate_limit import HourlyLimiter
from tap_peakon.streams import AnswersExportStream, ScoresByDriverStream, ScoresContextsStream
from tap_peakon.tap import TapPeakon

BASE = "https://acme.peakon.com/api/v1"


# -- token extraction and exchange ---------------------------------------------------------------
@pytest.mark.parametrize(
    "reply",
    [
        {"data": {"type": "bearer_tokens", "id": "T"}},
        {"token": "T"},
        {"access_token": "T"},
        {"data": {"attributes": {"token": "T"}}},
        {"data": {"attributes": {"access_token": "T"}}},
        {"data": {"token": "T"}},
    ],
)
def test_token_is_found_wherever_replies_put_it(reply: dict[str, object]) -> None:
    assert extract_token(reply) == "T"


def test_missing_token_names_keys_never_values() -> None:
    with pytest.raises(AuthenticationError) as caught:
        extract_token({"data": {"type": "bearer_tokens", "attributes": {"secretish": "VALUE-123"}}})
    message = str(caught.value)
    assert "data.attributes.secretish" in message
    assert "VALUE-123" not in message


def test_given_json_rejected_falls_back_to_form() -> None:
    with requests_mock.Mocker() as mock:
        mock.post(
            f"{BASE}/auth/application",
            [{"status_code": 415}, {"json": {"data": {"id": "T"}}}],
        )
        assert exchange_token(requests.Session(), BASE, "app", timeout=5) == "T"
        first, second = mock.request_history
        assert first.json() == {"token": "app"}
        assert second.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert second.text == "token=app"


def test_given_404_the_token_is_not_recognised() -> None:
    with requests_mock.Mocker() as mock:
        mock.post(f"{BASE}/auth/application", status_code=404)
        with pytest.raises(AuthenticationError, match=f"application token not recognised by {BASE}"):
            exchange_token(requests.Session(), BASE, "app", timeout=5)


# -- error policy and waits ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "action"),
    [(200, Action.OK), (401, Action.REAUTHENTICATE), (408, Action.RETRY), (429, Action.RATE_LIMITED),
     (500, Action.RETRY), (503, Action.RETRY), (404, Action.FAIL), (422, Action.FAIL)],
)  # fmt: skip
def test_policy_maps_status_to_action(status: int, action: Action) -> None:
    assert action_for(status) is action


def test_a_stream_policy_is_data_the_driver_scores_ignore_422() -> None:
    assert action_for(422, ScoresByDriverStream.http_errors) is Action.IGNORE
    assert action_for(422, ScoresContextsStream.http_errors) is Action.FAIL
    assert action_for(503, ScoresByDriverStream.http_errors) is Action.RETRY


def test_given_retry_after_in_seconds() -> None:
    assert parse_retry_after("17") == 17.0


def test_given_retry_after_as_http_date() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after(email.utils.formatdate(now + 42, usegmt=True), now=now) == pytest.approx(42)


@pytest.mark.parametrize("value", [None, "", "soon"])
def test_given_missing_or_bad_retry_after(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_exponential_wait_doubles_with_jitter_and_is_capped() -> None:
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (10, 30)]:
        wait = exponential_wait(attempt, base=2, cap=30)
        assert ceiling / 2 <= wait <= ceiling


# -- keys ----------------------------------------------------------------------------------------
def test_answer_key_prefers_answer_id_then_id() -> None:
    assert answer_key({"id": "9", "attributes": {"answerId": 7}}) == 7
    assert answer_key({"id": "9", "attributes": {}}) == 9
    assert answer_key({"id": "x9"}) == "x9"
    assert answer_key({"id": 1e308 * 10}) == float("inf")  # no integer: kept as sent, never a crash


def test_score_key_joins_parts_or_hashes_stably() -> None:
    item = {"id": "1527152", "attributes": {"scores": {"time": "2026-11-02T00:00:00Z"}}}
    assert score_key("engagement", item) == "engagement::1527152::2026-11-02T00:00:00Z"
    no_time = {"id": "1", "attributes": {"scores": {"mean": 5}}}
    assert (
        score_key("engagement", no_time)
        == stable_hash(no_time)
        == stable_hash({"attributes": {"scores": {"mean": 5}}, "id": "1"})
    )
    assert stable_hash(no_time).startswith("sha256:")


# -- links ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "link",
    [
        f"{BASE}/answers/export?per_page=5&continuation=9",
        "/api/v1/answers/export?per_page=5&continuation=9",
        "/answers/export?per_page=5&continuation=9",
        "answers/export?per_page=5&continuation=9",
        "?per_page=5&continuation=9",
    ],
)
def test_next_links_resolve_without_doubling_the_prefix(link: str) -> None:
    request_url = f"{BASE}/answers/export?per_page=5"
    assert resolve_link(link, request_url, BASE) == f"{BASE}/answers/export?per_page=5&continuation=9"


# -- limiter -------------------------------------------------------------------------------------
def test_limiter_waits_for_the_oldest_request_to_leave_the_hour() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = HourlyLimiter(3, clock=lambda: now[0], sleep=sleep)
    for at in (0.0, 10.0, 20.0, 30.0):
        now[0] = max(now[0], at)
        limiter.acquire()
    assert waits == [3600.0 - 30.0]


# -- paging --------------------------------------------------------------------------------------
def page(url: str, ids: list[int], next_link: str | None) -> Page:
    body = json.dumps({"data": [{"id": str(i)} for i in ids], "links": {"next": next_link}}).encode()
    return Page.read(url, body, BASE, fetched_at="2026-12-01T00:00:00+00:00", elapsed=1.0)


def test_paging_ends_on_a_page_with_nothing_new_or_a_link_to_itself() -> None:
    first, second = f"{BASE}/employees?continuation=1", f"{BASE}/employees?continuation=2"
    paginator = PeakonPaginator(BASE)
    assert paginator.get_next(page(first, [1, 2], second)) == second
    assert paginator.get_next(page(second, [1, 2], f"{BASE}/employees?continuation=3")) is None  # nothing new
    assert PeakonPaginator(BASE).get_next(page(first, [1], "?continuation=1")) is None  # itself, spelled relative


def test_paging_fails_on_a_link_back_to_an_earlier_page() -> None:
    first, second = f"{BASE}/employees?continuation=1", f"{BASE}/employees?continuation=2"
    paginator = PeakonPaginator(BASE)
    paginator.get_next(page(first, [1], second))
    with pytest.raises(PaginationLoopError, match="points back to"):
        paginator.get_next(page(second, [2], first))


def test_the_outline_paging_reads_is_the_page_s_whatever_path_writes_its_file() -> None:
    """Page files: the answers' pass over a page and paging read one Page, whose outline (ids,
    links, meta) is the page's own: described items, drifted ones, no object, no id."""
    tap = TapPeakon(config={"app_token": "token", "base_url": BASE, "company_id": 1}, setup_mapper=True)
    answers = tap.streams["answers_export"]
    assert isinstance(answers, AnswersExportStream)
    items = [{"id": "1", "attributes": {"answerId": 1}}, {"id": 2, "surprise": True}, 7, {"type": "x"}, {"id": 3}]
    body = {"data": items, "links": {"next": f"{BASE}/answers/export?continuation=3"}, "meta": {"page": {"number": 1}}}
    read = Page.read(f"{BASE}/answers/export", json.dumps(body).encode(), BASE, fetched_at="t", elapsed=1.0)
    keys, _ = answers.page_file(read)
    assert keys == [1, 2, None, 3]
    assert read.outline == Outline(frozenset({"1", "2", "3"}), body["links"], body["meta"])
