"""The release calendar, built against the embedded MongoDB: a month is published once its grace is
over and never rewritten; later answers are counted, not published; a range is the sum of released
monthly rows; `explain` names what every published figure counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peakon_ingest.marts import release, store
from peakon_ingest.marts.build import build
from peakon_ingest.marts.options import PREFIX, Options
from tests.cli.helpers import cli_env, run_cli
from tests.marts.test_release_world import OPTIONS, Db, answer, at, employee, move, published, seed


def test_a_month_is_published_once_its_grace_is_over_and_never_rewritten(mongo_db: Db) -> None:
    seed(mongo_db)
    # 10 November: September is due; October ended 10 days ago (grace 14); November is open.
    report = build(mongo_db, OPTIONS, now=at("2026-11-10"))
    assert report["released"] == ["2026-09"]
    months = {row["month"] for row in mongo_db[PREFIX + "manager_question"].find()}
    assert months == {"2026-09"}
    september = published(mongo_db)
    # 14 November: still inside October's grace; nothing new. Only the months not released are
    # read (October's and November's 2 x 15 answers each), not September's again.
    report = build(mongo_db, OPTIONS, now=at("2026-11-14"))
    assert (report["released"], report["answers_read"]) == ([], 60)
    assert published(mongo_db) == september
    # 16 November: October is due; September's rows stay as they were.
    report = build(mongo_db, OPTIONS, now=at("2026-11-16"))
    assert report["released"] == ["2026-10"]
    rows = published(mongo_db)
    assert {doc["_id"] for doc in mongo_db[PREFIX + "release"].find()} == {"2026-09", "2026-10"}
    for name, before in september.items():
        if name != "release":
            assert set(before) <= set(rows[name]), name
            assert {r for r in rows[name] if "2026-09" in r} == set(before), name


def test_an_answer_arriving_after_its_month_was_released_is_counted_and_never_published(mongo_db: Db) -> None:
    seed(mongo_db)
    build(mongo_db, OPTIONS, now=at("2026-12-20"))
    before = published(mongo_db)
    assert {doc["_id"] for doc in mongo_db[PREFIX + "release"].find()} == {"2026-09", "2026-10", "2026-11"}
    mongo_db["answers_export"].insert_one(answer(9_999, 10, "q1", "2026-10", 10, day=30))
    report = build(mongo_db, OPTIONS, now=at("2026-12-27"))
    assert (report["released"], report["late_answers"]) == ([], 1)
    assert published(mongo_db) == before
    report = build(mongo_db, OPTIONS, now=at("2026-12-28"))  # counted once: the watermark moved on
    assert report["late_answers"] == 0


def test_answers_are_released_or_counted_late_by_their_month_whatever_their_id(mongo_db: Db) -> None:
    """What a build reads rests on when an answer was given, not on its `_id`: one stored after a
    build with an `_id` below every other is released with its month, or counted late."""
    seed(mongo_db)
    build(mongo_db, OPTIONS, now=at("2026-11-10"))  # September released
    mongo_db["answers_export"].insert_many(
        [answer(1, 10, "q1", "2026-10", 10, day=30), answer(2, 11, "q1", "2026-09", 10, day=30)]
    )
    report = build(mongo_db, OPTIONS, now=at("2026-11-16"))
    assert (report["released"], report["late_answers"]) == (["2026-10"], 1)
    months = release.State.load(mongo_db).months
    assert months["2026-10"]["answers"] == months["2026-09"]["answers"] + 1
    assert build(mongo_db, OPTIONS, now=at("2026-11-17"))["late_answers"] == 0


def test_a_released_month_is_never_rebuilt_even_when_the_read_returns_its_answers(
    mongo_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read by date is the first guard; the second: answers of released months are left out
    whatever a server's range returns (here: every answer)."""
    seed(mongo_db)
    build(mongo_db, OPTIONS, now=at("2026-11-10"))
    before = published(mongo_db)
    monkeypatch.setattr(store, "answered_since", lambda db, _month: store.answers(db))
    mongo_db["answers_export"].insert_one(answer(9_999, 21, "q2", "2026-09", 8, day=30))
    report = build(mongo_db, OPTIONS, now=at("2026-11-11"))
    assert report["released"] == []
    assert published(mongo_db) == before


def test_a_build_stopped_between_two_marts_leaves_its_month_closed_for_good(
    mongo_db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month some mart already shows is never built again from newer answers (which would give
    the difference away), even when the build stopped before it was listed in mart_release."""
    seed(mongo_db)
    renamed = store.Staging.publish

    def stopped(staging: store.Staging) -> None:
        if staging.name == "driver_segment":
            raise RuntimeError("stopped between two marts")
        renamed(staging)

    monkeypatch.setattr(store.Staging, "publish", stopped)
    with pytest.raises(RuntimeError, match="stopped"):
        build(mongo_db, OPTIONS, now=at("2026-11-10"))
    shown = published(mongo_db)["manager_question"]
    assert any("2026-09" in row for row in shown)  # renamed before the stop: September shows there
    monkeypatch.undo()
    mongo_db["answers_export"].insert_one(answer(9_999, 21, "q2", "2026-09", 8, day=30))
    report = build(mongo_db, OPTIONS, now=at("2026-11-11"))
    assert (report["released"], report["late_answers"]) == ([], 1)
    assert published(mongo_db)["manager_question"] == shown


def test_a_range_is_the_sum_of_its_released_monthly_rows_and_stops_at_the_latest_released(
    mongo_db: Db, mongo_uri: str, tmp_path: Path
) -> None:
    seed(mongo_db)
    # The CLI's clock is the real one: every month of 2026 up to October is released by now.
    done = run_cli(["marts"], cli_env(None, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    latest = release.State.load(mongo_db).frontier
    assert latest is not None
    assert latest >= "2026-10"
    env = cli_env(None, mongo_uri, mongo_db.name)
    for name, keys in release.IDENTITY.items():
        if name == "participation":
            continue
        done = run_cli(["export", name, "--from", "2026-09", "--to", "2026-10", "--format", "jsonl"], env, tmp_path)
        assert done.returncode == 0, done.stderr
        ranged = [json.loads(line) for line in done.stdout.splitlines()]
        monthly = list(mongo_db[PREFIX + name].find({"month": {"$in": ["2026-09", "2026-10"]}}, {"_id": 0}))
        assert ranged
        for row in ranged:
            same = [m for m in monthly if all(json.dumps(m[k]) == json.dumps(row[k]) for k in keys)]
            assert same
            for figure in ("answers", "score_sum", "promoters", "detractors"):
                assert row[figure] == sum(m[figure] for m in same), (name, figure)
            assert row["score_mean"] == round(row["score_sum"] / row["answers"], 2)
            assert (row["month"], row["respondents"]) == ("2026-09..2026-10", None)
            assert row["complete"] == all(m["complete"] for m in same)
    beyond = release.next_month(latest)
    done = run_cli(["export", "manager_question", "--from", "2026-09", "--to", beyond], env, tmp_path)
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr == f"peakon-ingest: error: --to {beyond}: not released yet; the latest released month is {latest}\n"
    )


def test_explain_names_the_answers_each_published_figure_and_range_counts(mongo_db: Db) -> None:
    seed(mongo_db)
    build(mongo_db, OPTIONS, now=at("2026-12-20"))
    mongo_db["answers_export"].insert_one(answer(9_999, 10, "q1", "2026-10", 10, day=30))  # late: not counted
    # A record changed since (another manager and hire date): the released months are as they were.
    move(mongo_db, 10, employee(10, 2, "D1"), employee(10, 3, "D2", hired="2026-12-01"), "2026-12-20", "2026-12-24")
    scores = {doc["_id"]: doc["attributes"]["answerScore"] for doc in mongo_db["answers_export"].find()}
    figures = release.explain(mongo_db, [("2026-09", "2026-11")])
    published_rows = sum(mongo_db[PREFIX + name].count_documents({}) for name in ("manager_question", "driver_segment"))
    answers = [f for f in figures if f.mart != "participation"]
    assert len(answers) > published_rows  # the range's rows too
    for figure in answers:
        assert 9_999 not in figure.members
        values = [scores[ident] for ident in figure.members]
        assert (figure.row["answers"], figure.row["score_sum"]) == (len(values), sum(values)), figure.row
        assert figure.row["promoters"] == sum(v >= 9 for v in values)
    for figure in (f for f in figures if f.mart == "participation"):
        assert (figure.row["employees"], figure.row["respondents"]) == (len(figure.members), len(figure.respondents))
        assert figure.respondents <= figure.members


def test_a_team_follows_the_org_chart_as_it_stood_at_the_months_end(mongo_db: Db) -> None:
    seed(mongo_db, ("2026-09",))
    # Manager 2 moved under manager 3 on 20 September: their reports' answers of the 3rd were given
    # under 2, who is in 3's team by the month's end.
    move(mongo_db, 2, employee(2, 1, "D1"), employee(2, 3, "D1"), "2026-09-01", "2026-09-20")
    # A third team, the smallest: the few answers of no team of their own (1, 2 and 3) join it.
    third = [employee(4, 1, "D3"), *(employee(30 + i, 4, "D3") for i in range(5))]
    mongo_db["employees"].insert_many(third)
    mongo_db["answers_export"].insert_many([answer(5_000 + p["_id"], p["_id"], "q1", "2026-09", 7) for p in third])
    build(mongo_db, OPTIONS, now=at("2026-10-20"))
    team = {
        row["manager_id"]: row["answers"]
        for row in mongo_db[PREFIX + "manager_question"].find({"scope": "team", "question_id": "q1"})
    }
    assert team[3] == 12


@pytest.fixture
def staged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The marts a build stages (rewrites), in order."""
    names: list[str] = []
    real = store.Staging

    def staging(db: Db, name: str) -> store.Staging:
        names.append(name)
        return real(db, name)

    monkeypatch.setattr(store, "Staging", staging)
    return names


def test_a_released_month_keeps_the_options_it_was_released_with(mongo_db: Db, staged: list[str]) -> None:
    seed(mongo_db)
    build(mongo_db, OPTIONS, now=at("2026-11-10"))
    staged.clear()
    september = {r for r in published(mongo_db)["manager_question"] if "2026-09" in r}
    stricter = Options(min_respondents=7, segments=OPTIONS.segments)
    build(mongo_db, stricter, now=at("2026-11-16"))
    assert {r for r in published(mongo_db)["manager_question"] if "2026-09" in r} == september
    assert {doc["_id"]: doc["min_respondents"] for doc in mongo_db[PREFIX + "release"].find()} == {
        "2026-09": 5, "2026-10": 7,
    }  # fmt: skip
    assert "org" not in staged  # the staff did not change: mart_org is not rewritten
    october = list(mongo_db[PREFIX + "manager_question"].find({"month": "2026-10"}))
    assert october
    assert min(row["respondents"] for row in october) >= 7


def test_with_no_month_due_only_a_changed_staff_rebuilds_mart_org(mongo_db: Db, staged: list[str]) -> None:
    seed(mongo_db)
    build(mongo_db, OPTIONS, now=at("2026-11-10"))
    staged.clear()
    build(mongo_db, OPTIONS, now=at("2026-11-11"))
    assert staged == []  # nothing due, the staff as it was: nothing rewritten
    mongo_db["employees"].insert_one(employee(50, 3, "D2") | {"changed_at": at("2026-11-11")})
    build(mongo_db, OPTIONS, now=at("2026-11-12"))
    assert staged == ["org"]
    assert mongo_db[PREFIX + "org"].count_documents({}) == 16
