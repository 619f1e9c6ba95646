"""Odd answers are stored as received; secrets never leave where they belong; redaction works."""

from __future__ import annotations

import hmac
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from peakon_simulator.embedded_mongo import free_port
from peakon_simulator.generator import PeakonData
from peakon_simulator.testing import SimulatorFactory, control
from pymongo.database import Database

from tests.cli.helpers import cli_env, run_cli
from tests.reliability.conftest import Scenario

Db = Database[dict[str, Any]]
APP_TOKEN = "app-7d1c-SECRET-application-token"
REDACT_KEY = "k3y-SECRET-pseudonym-key"


def pseudonym(value: Any) -> Any:
    return (
        None
        if value is None
        else "hmac-sha256:" + hmac.new(REDACT_KEY.encode(), str(value).encode(), "sha256").hexdigest()
    )


MONGO_PASSWORD = "m0ngo-SECRET-passw0rd"


def test_answers_with_odd_types_missing_and_unknown_fields_are_stored_as_received(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, scenario: Scenario
) -> None:
    sim = make_simulator(answers=3000, odd_answers_every=7)
    done = run_cli(["ingest", "--streams", "answers_export"], cli_env(sim, mongo_uri, mongo_db.name), tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    stored = {d["_id"]: d for d in mongo_db["answers_export"].find()}
    assert len(stored) == 3000
    odd = 0
    for index in range(3000):
        sent = sim.state.data.answer(index)
        if sent["attributes"]["answerId"] % 7 == 0:
            sent = PeakonData.oddify(sent)
            odd += 1
        doc = stored[sent["attributes"]["answerId"]]
        assert {k: doc[k] for k in sent} == sent  # every field, as the API sent it
    assert odd > 100
    scenario.name = "answers with a score as text, a field missing and unknown fields"
    scenario.expected = "exit 0; every answer stored exactly as the API sent it"
    scenario.happened = (
        f"all 3000 stored; {odd} odd ones exactly as sent (string score kept, no field dropped or added)"
    )
    scenario.proof = "each stored document compared field by field with the API's item"


def collect_mongo_text(db: Db) -> str:
    runs = list(db["ingestion_runs"].find())
    state = list(db["sync_state"].find())
    return json.dumps(runs + state, default=str)


def test_secrets_appear_in_no_log_output_stream_or_record(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, scenario: Scenario
) -> None:
    sim = make_simulator(answers=2000, app_token=APP_TOKEN)
    # JSON logs at DEBUG: every line the tap and the target print reaches our output, metrics included.
    env = cli_env(
        sim, mongo_uri, mongo_db.name, PEAKON_APP_TOKEN=APP_TOKEN, LOG_LEVEL="DEBUG", LOG_FORMAT="json",
        PEAKON_MAX_RETRIES="1", PEAKON_PSEUDONYMIZE_IDS="true", PEAKON_REDACT_KEY=REDACT_KEY,
    )  # fmt: skip
    texts: list[str] = []

    ok = run_cli(["ingest"], env, tmp_path)  # a full run, logging at DEBUG
    texts += [ok.stdout, ok.stderr]
    assert ok.returncode == 0, ok.stderr[-2000:]
    children = {json.loads(line).get("child") for line in ok.stderr.splitlines()}
    assert {"tap", "target"} <= children  # their complete output is in what we check
    control(sim, "POST", "switches", {"token_max_requests": 3})  # renewals mid-run
    renewed = run_cli(["ingest", "--full-sync"], env, tmp_path)
    texts += [renewed.stdout, renewed.stderr]
    assert renewed.returncode == 0, renewed.stderr[-2000:]
    control(sim, "POST", "faults", {"kind": "status", "status": 500, "times": -1, "path": "/answers/export"})
    failed = run_cli(["ingest", "--full-sync"], env, tmp_path)  # a failing run, with its error message
    texts += [failed.stdout, failed.stderr]
    assert failed.returncode == 1
    control(sim, "DELETE", "faults")
    for command in (["runs"], ["status"], ["ingest", "--dry-run"]):
        out = run_cli(command, env, tmp_path)
        texts += [out.stdout, out.stderr]

    # The Singer stream itself, from the tap run alone with the same secrets.
    config = tmp_path / "tap.json"
    settings = {"app_token": APP_TOKEN, "base_url": sim.base_url, "company_id": 22182, "per_page": 500}
    config.write_text(json.dumps(settings))
    tap = subprocess.run([sys.executable, "-m", "tap_peakon", "--config", str(config)],
                         capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert tap.returncode == 0, tap.stderr[-2000:]
    texts += [tap.stdout, tap.stderr]

    # Wrong secrets: their error messages must not quote them either.
    mongo_db["auth_tokens"].delete_many({})  # else the stored bearer token would still work
    wrong = run_cli(["ingest"], {**env, "PEAKON_APP_TOKEN": APP_TOKEN + "-wrong"}, tmp_path)
    texts += [wrong.stdout, wrong.stderr]
    assert wrong.returncode == 1
    port = free_port()
    for uri in (f"mongodb://ingest:{MONGO_PASSWORD}@127.0.0.1:{port}/?directConnection=true",
                f"mongodb://ingest:{MONGO_PASSWORD}@{mongo_uri.split('://', 1)[1]}",
                f"mongodb://ingest:{MONGO_PASSWORD}@bad host:1/"):  # fmt: skip
        out = run_cli(["ingest"], {**env, "MONGO_URI": uri, "MONGO_TIMEOUT_SECONDS": "1"}, tmp_path)
        texts += [out.stdout, out.stderr]
        assert out.returncode == 2, out.stderr[-1000:]

    texts.append(collect_mongo_text(mongo_db))
    bearer_tokens = list(sim.state._tokens)  # every token the simulator issued
    assert len(bearer_tokens) >= 3
    everything = "\n".join(texts)
    assert APP_TOKEN not in everything
    assert REDACT_KEY not in everything
    assert MONGO_PASSWORD not in everything
    leaked = [text[max(0, text.find(t) - 200) : text.find(t)] for t in bearer_tokens for text in texts if t in text]
    assert not leaked, leaked[:1]
    assert "answers_export" in everything  # the collection really holds the runs' output
    scenario.name = "secrets: application token, bearer tokens, pseudonym key, MongoDB password"
    scenario.expected = "no secret anywhere in any output, the children's complete output included, or in MongoDB"
    scenario.happened = (
        f"{len(everything) // 1024} KiB collected: DEBUG logs and output of ingest (ok, renewing, failing, "
        "dry run, wrong token, bad URIs), runs, status, the Singer stream, ingestion_runs, sync_state; "
        f"{len(bearer_tokens)} bearer tokens issued"
    )
    scenario.proof = "none of the secrets occurs anywhere in that text"


def test_redaction_removes_or_pseudonymizes_fields_before_mongodb(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, scenario: Scenario
) -> None:
    sim = make_simulator(answers=1500)
    fields = "accountEmail,answerComment,lastName"
    removed = run_cli(["ingest"], cli_env(sim, mongo_uri, mongo_db.name, PEAKON_REDACT_FIELDS=fields), tmp_path)
    assert removed.returncode == 0, removed.stderr[-2000:]
    for doc in mongo_db["answers_export"].find():
        assert "accountEmail" not in doc["attributes"]
        assert "answerComment" not in doc["attributes"]
        assert "answerScore" in doc["attributes"]
    assert all("lastName" not in e["attributes"] for e in mongo_db["employees"].find())
    assert mongo_db["answers_export"].count_documents({}) == 1500

    hashed_db = mongo_db.client[mongo_db.name + "_h"]
    try:
        env = cli_env(
            sim, mongo_uri, hashed_db.name, PEAKON_REDACT_FIELDS=fields, PEAKON_REDACT_MODE="hash",
            PEAKON_REDACT_KEY=REDACT_KEY,
        )  # fmt: skip
        assert run_cli(["ingest"], env, tmp_path).returncode == 0
        for index in range(0, 1500, 37):
            sent = sim.state.data.answer(index)["attributes"]
            found = hashed_db["answers_export"].find_one({"_id": sent["answerId"]})
            assert found is not None
            assert found["attributes"]["accountEmail"] == pseudonym(sent["accountEmail"])
            assert found["attributes"]["answerComment"] == pseudonym(sent["answerComment"])
    finally:
        mongo_db.client.drop_database(hashed_db.name)
    scenario.name = "PEAKON_REDACT_FIELDS=accountEmail,answerComment,lastName (remove, then hash)"
    scenario.expected = "the fields absent (remove) or a keyed pseudonym of the value (hash) in every stored document"
    scenario.happened = "removed from every answer and employee; in hash mode stored as hmac-sha256:<hex>"
    scenario.proof = "every stored document checked; pseudonyms recomputed from the API's values and the key"


def test_hostile_records_are_kept_aside_and_never_block_the_pipeline(
    tmp_path: Path, make_simulator: SimulatorFactory, mongo_uri: str, mongo_db: Db, scenario: Scenario
) -> None:
    sim = make_simulator(answers=3000, hostile_answers_every=97)
    hostile = {i: PeakonData.answer_id(i) for i in range(3000) if PeakonData.answer_id(i) % 97 == 0}
    kinds = {PeakonData.HOSTILE_KINDS[a // 97 % len(PeakonData.HOSTILE_KINDS)] for a in hostile.values()}
    assert kinds == set(PeakonData.HOSTILE_KINDS)  # every kind is on a page next to good records
    unkeyable = sum(PeakonData.HOSTILE_KINDS[a // 97 % 5] in {"object id", "array id"} for a in hostile.values())
    # The page-file path (the operator's default); the tap's tests cover the record path.
    for database in (mongo_db,):
        try:
            env = cli_env(sim, mongo_uri, database.name)
            first = run_cli(["ingest", "--streams", "answers_export"], env, tmp_path)
            assert first.returncode == 0, first.stderr[-2000:]
            assert database["answers_export"].count_documents({}) == 3000 - len(hostile)
            rejected = list(database["rejected_records"].find())
            assert len(rejected) == len(hostile)
            assert {r["stream"] for r in rejected} == {"answers_export"}
            assert all(json.loads(r["record"]) for r in rejected)  # the raw record, as text
            assert {r["reason"] for r in rejected} == {
                "its key is dict, not an integer or a string",
                "its key is list, not an integer or a string",
                "top-level field '$where' starts with $",
                "top-level field 'answer.score' contains a dot",
                "nested deeper than 100 levels",
            }
            (run,) = database["ingestion_runs"].find()
            assert run["counts"]["answers_export"]["rejected"] == len(hostile)
            bookmark = database["sync_state"].find_one({"_id": "answers_export"}) or {}
            good = [a for a in (PeakonData.answer_id(i) for i in range(3000)) if a not in hostile.values()]
            assert bookmark.get("last_answer_id") == max(good)
            control(sim, "POST", "answers", {"count": 500})
            second = run_cli(["ingest", "--streams", "answers_export"], env, tmp_path)
            assert second.returncode == 0, second.stderr[-2000:]  # later runs are not stuck
            new_hostile = sum(PeakonData.answer_id(i) % 97 == 0 for i in range(3000, 3500))
            assert database["answers_export"].count_documents({}) == 3500 - len(hostile) - new_hostile
            control(sim, "POST", "reset")
            control(sim, "POST", "switches", {"hostile_answers_every": 97})
        finally:
            if database is not mongo_db:
                mongo_db.client.drop_database(database.name)
    scenario.name = "a page with hostile records next to good ones"
    scenario.expected = (
        "exit 0; good records stored; each object or array id, $-prefixed or dotted field and 120-deep nesting "
        "in rejected_records with its reason and raw text; counted; the next run not stuck"
    )
    scenario.happened = f"{len(hostile)} of 3000 rejected ({unkeyable} unkeyable); the next run stored 500 new answers"
    scenario.proof = "collection counts, rejected_records, run counts and the bookmark checked"
