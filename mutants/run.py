"""`make mutants`: break one critical behaviour at a time and check that the tests notice.

Each mutation replaces one snippet of the source, in a scratch copy of the repository (the checkout
is never touched), and runs the tests that guard that behaviour against it, with the scratch copy
first on PYTHONPATH (the tap and target processes the tests start inherit it). A mutation is caught
when those tests fail (pytest exit code 1); a mutation whose snippet is missing, or whose tests
cannot even run, is an error of this list, not a catch. Not part of `make test`: it takes minutes.

    make mutants                     # every mutation
    make mutants ARGS="429 loop"     # those whose name contains a word given
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_ROOTS = (".", "tap-peakon", "target-mongo-upsert", "peakon-simulator")
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv*", ".meltano", "*.egg-info", "__pycache__", ".*_cache", "results")


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]  # pytest arguments: one suite directory or file, then selectors


MUTATIONS = (
    Mutation(
        "relative next link resolved against the request, not the API root",
        "tap-peakon/tap_peakon/pagination.py",
        'return base_url.rstrip("/") + "/" + link',
        "return urljoin(request_url, link)",
        ("tap-peakon/tap_peakon_tests/test_streams_live.py", "-k", "next_link_form"),
    ),
    Mutation(
        "429 made fatal",
        "tap-peakon/tap_peakon/error_policy.py",
        "HTTPStatus.TOO_MANY_REQUESTS: Action.RATE_LIMITED",
        "HTTPStatus.TOO_MANY_REQUESTS: Action.FAIL",
        ("tests/reliability/test_faults.py", "-k", "429"),
    ),
    Mutation(
        "Retry-After ignored (exponential backoff instead)",
        "tap-peakon/tap_peakon/client.py",
        "raise RetryAfterError(msg, response, wait=wait)",
        "raise RetriableAPIError(msg, response)",
        ("tests/reliability/test_faults.py", "-k", "429 and storm and with and not without"),
    ),
    Mutation(
        "pagination loop detection off",
        "tap-peakon/tap_peakon/pagination.py",
        "raise PaginationLoopError(msg)",
        "return None",
        ("tests/reliability/test_faults.py", "-k", "loop"),
    ),
    Mutation(
        "a next link to the page just read treated as a loop",
        "tap-peakon/tap_peakon/pagination.py",
        "if next_url is None or canonical(next_url) == current:",
        "if next_url is None:",
        ("tap-peakon/tap_peakon_tests/test_streams_live.py", "-k", "nothing_more"),
    ),
    Mutation(
        "driver scores: 422 fails instead of being skipped",
        "tap-peakon/tap_peakon/streams.py",
        "HTTPStatus.UNPROCESSABLE_ENTITY: Action.IGNORE",
        "HTTPStatus.UNPROCESSABLE_ENTITY: Action.FAIL",
        ("tap-peakon/tap_peakon_tests/test_streams_live.py", "-k", "every_stream"),
    ),
    Mutation(
        "401 not re-authenticated",
        "tap-peakon/tap_peakon/error_policy.py",
        "HTTPStatus.UNAUTHORIZED: Action.REAUTHENTICATE",
        "HTTPStatus.UNAUTHORIZED: Action.FAIL",
        ("tests/reliability/test_faults.py", "-k", "token"),
    ),
    Mutation(
        "more retries than max_retries",
        "tap-peakon/tap_peakon/client.py",
        'return int(self.config["max_retries"]) + 1',
        'return int(self.config["max_retries"]) + 3',
        ("tests/reliability/test_faults.py", "-k", "until and retries"),
    ),
    Mutation(
        "answers bookmark ahead of the page written",
        "tap-peakon/tap_peakon/streams.py",
        'state["replication_key_value"] = last',
        'state["replication_key_value"] = last + 1_000',
        ("tap-peakon/tap_peakon_tests/test_streams_live.py", "-k", "batch_mode_writes"),
    ),
    Mutation(
        "employees read in small pages",
        "tap-peakon/tap_peakon/streams.py",
        "EMPLOYEES_PER_PAGE = 10_000",
        "EMPLOYEES_PER_PAGE = 100",
        ("tests/cli/test_ingest.py", "-k", "second_run"),
    ),
    Mutation(
        "redaction and pseudonyms skipped",
        "tap-peakon/tap_peakon/client.py",
        "return self.peakon.privacy.apply(self.name, self.shape(row, context))",
        "return self.shape(row, context)",
        ("tap-peakon/tap_peakon_tests/test_redaction.py",),
    ),
    Mutation(
        "page files made from the page's bytes despite privacy rules",
        "tap-peakon/tap_peakon/streams.py",
        "if self.peakon.privacy.touches(self.name):",
        "if False:",
        ("tap-peakon/tap_peakon_tests/test_redaction.py",),
    ),
    Mutation(
        "the token exchange outside the retries (as the SDK prepares requests)",
        "tap-peakon/tap_peakon/client.py",
        '        request.headers.setdefault("User-Agent", self.user_agent)\n',
        '        request.headers.setdefault("User-Agent", self.user_agent)\n'
        "        self.requests_session.auth = self.authenticator\n",
        ("tap-peakon/tap_peakon_tests/test_network_live.py", "-k", "refused_for"),
    ),
    Mutation(
        "a body still arriving past timeout_seconds read to its end",
        "tap-peakon/tap_peakon/capped_session.py",
        "        if time.monotonic() > deadline:",
        "        if False:",
        ("tap-peakon/tap_peakon_tests/test_network_live.py", "-k", "trickling"),
    ),
    Mutation(
        "hash mode removes instead",
        "tap-peakon/tap_peakon/privacy.py",
        'if self.mode == "remove":',
        'if self.mode in {"remove", "hash"}:',
        ("tap-peakon/tap_peakon_tests/test_redaction.py", "-k", "hash"),
    ),
    Mutation(
        "pseudonyms without the key (a plain hash)",
        "tap-peakon/tap_peakon/privacy.py",
        "PREFIX + hmac.new(self.key, str(value).encode(), hashlib.sha256).hexdigest()",
        "PREFIX + hashlib.sha256(str(value).encode()).hexdigest()",
        ("tap-peakon/tap_peakon_tests/test_redaction.py", "-k", "dictionary"),
    ),
    Mutation(
        "a next link to another host followed",
        "tap-peakon/tap_peakon/pagination.py",
        "            raise ForeignLinkError(msg)",
        "            pass",
        ("tap-peakon/tap_peakon_tests/test_credentials.py", "-k", "another_host"),
    ),
    Mutation(
        "bearer token stored in clear",
        "peakon_ingest/run/tokens.py",
        'document = {"_id": key, FIELD: encrypted, "obtained_at": dt.datetime.now(dt.UTC)}',
        'document = {"_id": key, FIELD: token, "obtained_at": dt.datetime.now(dt.UTC)}',
        ("tests/cli/test_ingest.py", "-k", "useless"),
    ),
    Mutation(
        "the tap logs its bearer token",
        "tap-peakon/tap_peakon/auth.py",
        'self.logger.info("Obtained a new bearer token from %s/auth/application", self._base_url)',
        'self.logger.info("Obtained a new bearer token %s", token)',
        ("tests/reliability/test_data_and_secrets.py", "-k", "secrets"),
    ),
    Mutation(
        "tap summary file not written",
        "tap-peakon/tap_peakon/tap.py",
        "self.stats.write(path, error)",
        "pass",
        ("tests/cli/test_ingest.py", "-k", "json"),
    ),
    Mutation(
        "target writes nothing",
        "target-mongo-upsert/target_mongo_upsert/writer.py",
        'return self.retrying(write, f"upsert of {len(batch.documents)} documents into {collection}")',
        "return WriteCounts()",
        ("target-mongo-upsert/target_mongo_upsert_tests/test_core.py", "-k", "standard_sample"),
    ),
    Mutation(
        "state saved before the data it covers",
        "target-mongo-upsert/target_mongo_upsert/target.py",
        "self.commits.after_writes(job)",
        "job()",
        ("target-mongo-upsert/target_mongo_upsert_tests/test_target.py", "-k", "failed"),
    ),
    Mutation(
        "a batch file read without measuring each record lets one nest a level too deep",
        "target-mongo-upsert/target_mongo_upsert/rejections.py",
        "_within_depth = msgspec.json.Decoder(_object_nesting_at_most(MAX_DEPTH))",
        "_within_depth = msgspec.json.Decoder(_object_nesting_at_most(MAX_DEPTH + 1))",
        ("target-mongo-upsert/target_mongo_upsert_tests/test_target.py", "-k", "nested_too_deep"),
    ),
    Mutation(
        "a record BSON cannot hold fails its whole batch",
        "target-mongo-upsert/target_mongo_upsert/writer.py",
        "            refused = _refused(pending, kinds, documents, in_place=in_place)",
        "            refused = []",
        ("target-mongo-upsert/target_mongo_upsert_tests/test_target.py", "-k", "bson_cannot_hold"),
    ),
    Mutation(
        "first_seen_at overwritten when content changes",
        "target-mongo-upsert/target_mongo_upsert/writer.py",
        '"first_seen_at": old.get("first_seen_at", now),',
        '"first_seen_at": now,',
        ("target-mongo-upsert/target_mongo_upsert_tests/test_target.py", "-k", "changes_are_tracked"),
    ),
    Mutation(
        "unchanged records rewritten",
        "target-mongo-upsert/target_mongo_upsert/writer.py",
        'if old.get("content_hash") == new_hash and old.get("removed_at") is None:',
        "if False:",
        ("target-mongo-upsert/target_mongo_upsert_tests/test_target.py", "-k", "changes_are_tracked or idempotent"),
    ),
    Mutation(
        "ACTIVATE_VERSION sent last (nothing announced before the records, which carry no version)",
        "tap-peakon/tap_peakon/table_versions.py",
        "        return bool(self.config.get(SETTING)) and self._stream_version is None\n"
        "\n"
        "    # The SDK calls this after a stream's sync returned (children included), never after one that\n"
        "    # raised: the one place that knows a read was complete"
        " (tap_peakon_tests/test_sdk_contract.py guards it).\n"
        "    @override\n"
        "    def finalize_state_progress_markers(self, state: dict[str, Any] | None = None) -> None:\n"
        "        super().finalize_state_progress_markers(state)\n"
        "        if self.selected and self._stream_version is not None:\n"
        "            self._write_activate_version_message(self._stream_version)\n",
        "        return False\n"
        "\n"
        "    @override\n"
        "    def finalize_state_progress_markers(self, state: dict[str, Any] | None = None) -> None:\n"
        "        super().finalize_state_progress_markers(state)\n"
        "        if self.selected:  # a millisecond version, after the records, as the tap once sent it\n"
        "            self._write_activate_version_message(self._initialized_at)\n",
        ("tap-peakon/tap_peakon_tests/test_singer_messages.py", "-k", "announces_its_version or fails_mid_read"),
    ),
    Mutation(
        "removals never marked",
        "target-mongo-upsert/target_mongo_upsert/sinks.py",
        'return document.get("removed_at") is None and (not isinstance(seen_in, int) or seen_in < version)',
        "return False",
        ("target-mongo-upsert/target_mongo_upsert_tests/test_versions.py", "-k", "announced_first"),
    ),
    Mutation(
        "version not recorded",
        "target-mongo-upsert/target_mongo_upsert/writer.py",
        "            self.versions[key] = version",
        "            pass",
        ("target-mongo-upsert/target_mongo_upsert_tests/test_versions.py", "-k", "announced_first"),
    ),
    Mutation(
        "the activate applied before the batches before it",
        "target-mongo-upsert/target_mongo_upsert/sinks.py",
        "self.commits.write(retire, self.collection_name, EVERY_KEY)",
        "retire()",
        ("target-mongo-upsert/target_mongo_upsert_tests/test_versions.py", "-k", "large_last_batch or parallel_writes"),
    ),
    Mutation(
        "an activation reads nothing back though this run wrote an older version",
        "target-mongo-upsert/target_mongo_upsert/versions.py",
        "return not self._unversioned and (self._oldest is None or self._oldest >= version)",
        "return True",
        ("target-mongo-upsert/target_mongo_upsert_tests/test_versions.py", "-k", "without_reading_it_back"),
    ),
    Mutation(
        "an activation reads nothing back though the collection holds documents of earlier runs",
        "target-mongo-upsert/target_mongo_upsert/sinks.py",
        "if only_newer and collection.estimated_document_count() == self.inserted:",
        "if only_newer:",
        ("target-mongo-upsert/target_mongo_upsert_tests/test_versions.py", "-k", "without_key_properties"),
    ),
    Mutation(
        "composite keys joined differently",
        "target-mongo-upsert/target_mongo_upsert/keys.py",
        '"::".join(str(v) for v in values)',
        '"|".join(str(v) for v in values)',
        ("target-mongo-upsert/target_mongo_upsert_tests/test_target.py", "-k", "composite"),
    ),
    Mutation(
        "run lock always taken over",
        "peakon_ingest/run/run_lock.py",
        'expired = float(held.get("expires_at") or 0) < time.time() or holder_is_gone(held)',
        "expired = True",
        ("tests/reliability/test_faults.py", "-k", "two_ingests"),
    ),
    Mutation(
        "run lock: /proc trusted across pid namespaces (containers on host networking)",
        "peakon_ingest/run/run_lock.py",
        'if held.get("host") != socket.gethostname() or here is None or held.get("pid_namespace") != here:',
        'if held.get("host") != socket.gethostname():',
        ("tests/cli/test_ingest.py", "-k", "namespace"),
    ),
    Mutation(
        "commits: a state lost when a later write fails first",
        "target-mongo-upsert/target_mongo_upsert/commits.py",
        "self._states_ok = self._states_ok and all(future.result() for future in before) and self._attempt(job)",
        "self._states_ok = self._states_ok and all(f.result() for f in before) and self._run(job)",
        ("target-mongo-upsert/target_mongo_upsert_tests/test_commits.py",),
    ),
    Mutation(
        "plain http allowed to any host",
        "tap-peakon/tap_peakon/config_checks.py",
        "and base.hostname not in plain_http_hosts(config):",
        "and not plain_http_hosts(config):",
        ("tap-peakon/tap_peakon_tests/test_credentials.py", "-k", "base_url"),
    ),
    Mutation(
        "an empty variable in .env taken as a value",
        "peakon_ingest/settings.py",
        "env_ignore_empty=True",
        "env_ignore_empty=False",
        ("tests/cli/test_config_and_daemon.py", "-k", "dot_env"),
    ),
    Mutation(
        "a stop passed on to the jobs running at the stop only, not to one started as it came",
        "peakon_ingest/schedule/daemon.py",
        "        time.sleep(PASS_ON_SECONDS)",
        "        break",
        ("tests/operation/test_unattended.py", "-k", "scheduler_starts"),
    ),
    Mutation(
        "a failed run exits 2 instead of 1",
        "peakon_ingest/cli.py",
        "raise fail(f\"run failed: {hints.explain(result.error or '')}\", EXIT_FAILED)",
        "raise fail(f\"run failed: {hints.explain(result.error or '')}\", EXIT_CONFIG)",
        ("tests/reliability/test_faults.py", "-k", "loop"),
    ),
    Mutation(
        "export --out writes over a symlink, FIFO or device",
        "peakon_ingest/marts/out_file.py",
        "    for test, kind in KINDS:",
        "    for test, kind in ():",
        ("tests/marts/test_export_out.py",),
    ),
    Mutation(
        "a run never stopped at PEAKON_RUN_TIMEOUT",
        "peakon_ingest/run/pipeline.py",
        "                if time.monotonic() >= deadline:",
        "                if False:",
        ("tests/operation/test_run_deadline.py", "-k", "deadline_stops"),
    ),
    Mutation(
        "marts: the release audit turned off",
        "peakon_ingest/marts/atoms.py",
        "    problems: list[str] = []\n    counted = table.filter",
        "    return []\n    counted = table.filter",
        ("tests/marts/test_release_guards.py", "-k", "atom_under_k"),
    ),
    Mutation(
        "marts: a cell of k-1 respondents made an atom",
        "peakon_ingest/marts/atoms.py",
        'big = counted.filter(pl.col("_n") >= k)',
        'big = counted.filter(pl.col("_n") >= k - 1)',
        ("tests/marts/test_rules.py",),
    ),
    Mutation(
        "marts: a month closed only once every mart shows it",
        "peakon_ingest/marts/build.py",
        "    keep(coverage)  # closed for good",
        "    pass  # closed for good",
        ("tests/marts/test_release_calendar.py", "-k", "stopped_between"),
    ),
    Mutation(
        "marts: a released month rebuilt",
        "peakon_ingest/marts/release.py",
        "released = month is not None and self.frontier is not None and month <= self.frontier",
        "released = False",
        ("tests/marts/test_release_calendar.py", "-k", "never_rewritten or never_published or never_rebuilt"),
    ),
    Mutation(
        "marts: the staff stamp blind to leavers",
        "peakon_ingest/marts/store.py",
        '"employees": ("changed_at", "removed_at")',
        '"employees": ("changed_at",)',
        ("tests/marts/test_marts_cli.py", "-k", "staff_stamp"),
    ),
    Mutation(
        "marts: the weekly read by _id again (an open month's answer below older ids dropped)",
        "peakon_ingest/marts/store.py",
        'find({ANSWERED_AT: {"$gte": month}}',
        'find({"_id": {"$gt": 1000}}',
        ("tests/marts/test_release_calendar.py", "-k", "whatever_their_id"),
    ),
    Mutation(
        "marts: a range past the latest released month allowed",
        "peakon_ingest/marts/release.py",
        "    if last > frontier:",
        "    if False:",
        ("tests/marts/test_release_calendar.py", "-k", "range"),
    ),
    Mutation(
        "marts: team groups follow the chart at the answer, not at the month's end",
        "peakon_ingest/marts/compute.py",
        "lines = Lines(self, self.org.chart(self.org.at_end(period)))",
        "lines = Lines(self, self.org.chart(0))",
        ("tests/marts/test_release_calendar.py", "-k", "team_follows"),
    ),
    Mutation(
        "marts: manager cycles left unbroken (only orphans handled)",
        "peakon_ingest/marts/people.py",
        "                effective[broken] = None",
        "                pass",
        ("tests/marts/test_rules.py",),
    ),
    Mutation(
        "web: the role check removed from /runs",
        "peakon_ingest/web/pages.py",
        'Route("/runs", admin(runs)),',
        'Route("/runs", analyst(runs)),',
        ("tests/web/test_pages_http.py", "-k", "403_on_runs"),
    ),
    Mutation(
        "web: escaping turned off in the manager page",
        "peakon_ingest/web/templates/manager.html",
        '<th scope="row">{{ q.text }}</th>',
        '<th scope="row">{{ q.text|safe }}</th>',
        ("tests/web/test_pages_http.py", "-k", "markup"),
    ),
    Mutation(
        "web: chart tooltips as HTML (style attributes the CSP refuses)",
        "peakon_ingest/web/static/charts.js",
        'renderMode: "richText"',
        'renderMode: "html"',
        ("tests/web/test_browser.py", "-k", "tooltip"),
    ),
    Mutation(
        "the operator reaches past a plugin's contract",
        "peakon_ingest/marts/people.py",
        "from tap_peakon.contract import as_int_or_self",
        "from tap_peakon.keys import as_int_or_self",
        ("tests/test_layering.py",),
    ),
    Mutation(
        "a child's summary read untyped (a misspelt key read as nothing)",
        "peakon_ingest/run/pipeline.py",
        "return msgspec.json.decode(data, type=kind)",
        "return msgspec.json.decode(data)  # type: ignore[no-any-return]",
        ("tests/test_plugin_contracts.py",),
    ),
)


def scratch_copy() -> Path:
    target = Path(tempfile.mkdtemp(prefix="peakon-mutants-")) / "repo"
    shutil.copytree(ROOT, target, ignore=COPY_IGNORE)
    return target


def run_tests(copy: Path, tests: tuple[str, ...]) -> int:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(copy / root) for root in PACKAGE_ROOTS)}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    return subprocess.run(command, cwd=copy, env=env, capture_output=True, check=False).returncode  # noqa: S603


def main(words: list[str]) -> int:
    chosen = [m for m in MUTATIONS if not words or any(w.lower() in m.name.lower() for w in words)]
    copy = scratch_copy()
    rows: list[tuple[str, str, str, float]] = []
    try:
        for mutation in chosen:
            path = copy / mutation.file
            original = path.read_text(encoding="utf-8")
            if original.count(mutation.old) != 1:
                rows.append((mutation.name, "ERROR: snippet not found once", mutation.file, 0.0))
                continue
            started = time.monotonic()
            baseline = run_tests(copy, mutation.tests)
            path.write_text(original.replace(mutation.old, mutation.new), encoding="utf-8")
            try:
                code = run_tests(copy, mutation.tests)
            finally:
                path.write_text(original, encoding="utf-8")
            if baseline != 0:
                outcome = f"ERROR: tests fail unmutated (exit {baseline})"
            else:
                outcome = "caught" if code == 1 else f"MISSED (exit {code})"
            rows.append((mutation.name, outcome, " ".join(mutation.tests), time.monotonic() - started))
            print(f"{outcome:8} {mutation.name}", flush=True)
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)
    print("\n| mutation | outcome | tests | seconds |\n| --- | --- | --- | --- |")
    for name, outcome, tests, seconds in rows:
        print(f"| {name} | {outcome} | `{tests}` | {seconds:.0f} |")
    caught = sum(outcome == "caught" for _, outcome, _, _ in rows)
    print(f"\n{caught} of {len(rows)} mutations caught")
    return 0 if caught == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
