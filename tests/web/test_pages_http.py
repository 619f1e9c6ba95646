"""The pages over real HTTP: who may open what, the headers, bad input, and figures equal to the marts."""

from __future__ import annotations

import ast
import csv
import gzip
import io
from pathlib import Path
from typing import Any

import pytest
import requests

from peakon_ingest.devtools.vendored import ECHARTS, sha256
from peakon_ingest.web import users
from tests.cli.helpers import cli_env, run_cli
from tests.web.conftest import PASSWORD, XSS, Db, Site, login, serve

PAGES = ["/", "/org", "/segments", "/participation", "/runs", "/org/children", "/segments.csv", "/participation.csv"]


def manager_ids(db: Db, scope: str = "team") -> list[str]:
    return sorted({str(r["manager_id"]) for r in db["mart_manager_question"].find({"scope": scope})})


def exported(site: Site, mart: str, tmp_path: Path) -> list[dict[str, str]]:
    done = run_cli(["export", mart], cli_env(None, site.mongo_uri, site.db.name), tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    return list(csv.DictReader(io.StringIO(done.stdout)))


def rows_of(reply: requests.Response) -> list[dict[str, str]]:
    assert reply.status_code == 200, reply.text[-500:]
    assert reply.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(reply.text)))


def test_every_page_but_login_and_healthz_redirects_to_the_login(site: Site) -> None:
    for path in [*PAGES, f"/managers/{manager_ids(site.db)[0]}"]:
        reply = requests.get(site.url + path, allow_redirects=False, timeout=10)
        assert reply.status_code == 303, path
        assert reply.headers["location"].startswith("/login"), path
    health = requests.get(f"{site.url}/healthz", timeout=10)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert requests.get(f"{site.url}/login", timeout=10).status_code == 200


def test_an_analyst_sees_the_figures_and_gets_403_on_runs_an_admin_sees_runs(site: Site) -> None:
    analyst, admin = site.session("ana"), site.session("ada")
    for path in ["/", "/org", "/segments", "/participation", f"/managers/{manager_ids(site.db)[0]}"]:
        assert analyst.get(site.url + path, timeout=10).status_code == 200, path
    forbidden = analyst.get(f"{site.url}/runs", timeout=10)
    assert forbidden.status_code == 403
    assert "admin" in forbidden.text
    runs = admin.get(f"{site.url}/runs", timeout=10)
    assert runs.status_code == 200
    assert "Release calendar" in runs.text
    assert "the last run" in runs.text  # the health line of `status --check`
    (run,) = site.db["ingestion_runs"].find()
    written = sum(c.get("inserted", 0) + c.get("changed", 0) for c in run["counts"].values())
    assert f"<td>{run['status']}</td>" in runs.text
    assert f"<td>{written}</td>" in runs.text


def test_a_wrong_password_reads_as_an_unknown_user_and_the_sixth_failure_in_a_minute_is_429(site: Site) -> None:
    session = requests.Session()
    wrong = login(site, session, "ada-throttle", "not the password")
    site.db["web_users"].delete_many({"_id": "nobody"})
    unknown = login(site, session, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    before_token = [reply.text.split('name="csrf"')[0] for reply in (wrong, unknown)]  # the token differs
    assert before_token[0] == before_token[1]
    users.add(site.db, "tess", "analyst", PASSWORD)
    for _ in range(5):
        assert login(site, session, "tess", "wrong password!").status_code == 401
    throttled = login(site, session, "tess", PASSWORD)  # the right one, too late
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "60"
    assert login(site, session, "ana", PASSWORD).status_code == 303  # another user is not held up


def test_posts_without_the_forms_csrf_token_are_refused(site: Site) -> None:
    session = requests.Session()
    session.get(f"{site.url}/login", timeout=10)
    forged = session.post(
        f"{site.url}/login", data={"name": "ana", "password": PASSWORD}, allow_redirects=False, timeout=10
    )
    assert forged.status_code == 400
    other = requests.Session()  # a token from another visitor's form
    other_form = other.get(f"{site.url}/login", timeout=10).text
    token = other_form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    data = {"csrf": token, "name": "ana", "password": PASSWORD}
    assert session.post(f"{site.url}/login", data=data, allow_redirects=False, timeout=10).status_code == 400
    signed_in = site.session("ana")
    assert signed_in.post(f"{site.url}/logout", data={}, allow_redirects=False, timeout=10).status_code == 400
    assert signed_in.get(f"{site.url}/", timeout=10).status_code == 200  # still signed in


def test_the_session_cookie_is_httponly_strict_12_hours_and_secure_behind_https(site: Site) -> None:
    session = requests.Session()
    reply = login(site, session, "ana", PASSWORD)
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "max-age=43200" in cookie
    assert "secure" not in cookie
    # A proxy on 127.0.0.1 says the visitor used https: cookies are Secure (the login form's too).
    form = requests.get(f"{site.url}/login", headers={"x-forwarded-proto": "https"}, timeout=10)
    assert "; secure" in form.headers["set-cookie"].lower()


def test_a_removed_user_is_signed_out_at_once(site: Site) -> None:
    users.add(site.db, "leaver", "analyst", PASSWORD)
    session = site.session("leaver")
    assert session.get(f"{site.url}/", allow_redirects=False, timeout=10).status_code == 200
    users.remove(site.db, "leaver")
    assert session.get(f"{site.url}/", allow_redirects=False, timeout=10).status_code == 303


def test_every_response_carries_the_browser_security_headers(site: Site) -> None:
    analyst = site.session("ana")
    for reply in [
        analyst.get(f"{site.url}/", timeout=10),
        analyst.get(f"{site.url}/runs", timeout=10),
        analyst.get(f"{site.url}/static/app.css", timeout=10),
        requests.get(f"{site.url}/healthz", timeout=10),
        requests.get(f"{site.url}/nowhere", timeout=10),
    ]:
        policy = reply.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"


def test_no_page_holds_an_inline_script_or_a_foreign_address(site: Site) -> None:
    analyst, admin = site.session("ana"), site.session("ada")
    for path in ["/", "/org", "/segments", "/participation", f"/managers/{manager_ids(site.db)[0]}", "/runs"]:
        html = admin.get(site.url + path, timeout=10).text
        assert "<script>" not in html, path
        assert " on" + "load=" not in html, path
        assert "http://" not in html.replace(site.url, ""), path
        assert "https://" not in html, path
    assert analyst.get(f"{site.url}/static/org.js", timeout=10).status_code == 200


def test_the_pinned_echarts_is_served_gzipd_and_pages_are_not(site: Site) -> None:
    """The static files go zipped (ECharts: 1 MB, a third of it zipped); a page never does: it holds a
    CSRF token beside text a visitor chooses (BREACH)."""
    session = site.session("ana")
    for file in ECHARTS.files:
        reply = session.get(f"{site.url}/static/{Path(file.target).name}", stream=True, timeout=10)
        sent = reply.raw.read(decode_content=False)
        assert reply.status_code == 200
        if file.member.endswith(".js"):
            assert reply.headers["content-encoding"] == "gzip"
            assert len(sent) < len(gzip.decompress(sent)) / 2
        if reply.headers.get("content-encoding") == "gzip":
            sent = gzip.decompress(sent)
        assert sha256(sent) == file.sha256, file.target
    page = session.get(f"{site.url}/", headers={"accept-encoding": "gzip"}, timeout=10)
    assert "content-encoding" not in page.headers


def test_a_question_text_holding_markup_is_shown_as_text(site: Site) -> None:
    row = site.db["mart_manager_question"].find_one({"question_text": XSS})
    assert row is not None
    html = site.session("ana").get(f"{site.url}/managers/{row['manager_id']}", timeout=10).text
    assert "&lt;img src=x onerror=" in html
    assert "<img src=x" not in html


def test_a_manager_csv_is_the_export_rows_of_that_manager(site: Site, tmp_path: Path) -> None:
    everything = exported(site, "manager_question", tmp_path)
    analyst = site.session("ana")
    for ident in manager_ids(site.db)[:3]:
        page = rows_of(analyst.get(f"{site.url}/managers/{ident}.csv", timeout=10))
        assert page == [row for row in everything if row["manager_id"] == ident]
        assert page


def test_the_segments_and_participation_csvs_are_export_rows(site: Site, tmp_path: Path) -> None:
    analyst = site.session("ana")
    segments = exported(site, "driver_segment", tmp_path)
    for month in sorted({row["month"] for row in segments}):
        page = rows_of(analyst.get(f"{site.url}/segments.csv", params={"month": month}, timeout=10))
        assert page == [row for row in segments if row["month"] == month]
    assert rows_of(analyst.get(f"{site.url}/participation.csv", timeout=10)) == exported(
        site, "participation", tmp_path
    )


def test_the_manager_page_shows_each_released_cell_and_hidden_for_the_others(site: Site) -> None:
    ident = manager_ids(site.db, "direct")[0]
    rows = list(site.db["mart_manager_question"].find({"manager_id": int(ident), "scope": "direct"}))
    html = site.session("ana").get(f"{site.url}/managers/{ident}", timeout=10).text
    for row in rows:
        assert f"{row['score_mean']:.2f}" in html
    assert ">hidden<" in html


def test_the_org_branches_load_one_level_at_a_time_with_the_teams_score(site: Site) -> None:
    analyst = site.session("ana")
    month = max(str(d["_id"]) for d in site.db["mart_release"].find())
    rows = list(site.db["mart_manager_question"].find({"month": month, "scope": "team"}))
    driver = str(rows[0]["driver"])
    params: dict[str, Any] = {"month": month, "driver": driver}
    tops = analyst.get(f"{site.url}/org/children", params=params, timeout=10).json()
    assert {t["id"] for t in tops} == {str(d["_id"]) for d in site.db["mart_org"].find({"depth": 0})}
    boss = max(tops, key=lambda t: t["reports"])
    below = analyst.get(f"{site.url}/org/children", params={**params, "id": boss["id"]}, timeout=10).json()
    assert {b["id"] for b in below} == {
        str(d["_id"]) for d in site.db["mart_org"].find({"manager_id": int(boss["id"])})
    }
    for person in [boss, *below]:
        mine = [r for r in rows if str(r["manager_id"]) == person["id"] and r["driver"] == driver]
        expected = round(sum(r["score_sum"] for r in mine) / sum(r["answers"] for r in mine), 2) if mine else None
        assert person["score"] == expected


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/managers/987654321", 404),
        ("/managers/%3Cscript%3E", 404),
        ("/segments?month=2024-13", 400),
        ("/segments?month=1999-01", 404),
        ("/org?driver=nope", 400),
        ("/org/children?id=987654321", 404),
        ("/org/search?q=x", 400),
        ("/nowhere", 404),
    ],
)
def test_bad_input_gets_a_page_saying_what_was_wrong(site: Site, path: str, status: int) -> None:
    reply = site.session("ana").get(site.url + path, timeout=10)
    assert reply.status_code == status
    assert "<script" not in reply.text.lower().replace('<script src="/static/', "")


def test_an_empty_database_says_no_month_is_released_yet(empty_site: Site) -> None:
    analyst = empty_site.session("ana")
    for path in ["/", "/org", "/segments", "/participation"]:
        reply = analyst.get(empty_site.url + path, timeout=10)
        assert reply.status_code == 200
        assert "no released month yet: run peakon-ingest ingest" in reply.text


def test_when_mongodb_does_not_answer_pages_and_healthz_say_503(mongo_db: Db, mongo_uri: str) -> None:
    from pymongo import MongoClient  # noqa: PLC0415

    users.add(mongo_db, "ana", "analyst", PASSWORD)
    dead: MongoClient[dict[str, Any]] = MongoClient(
        "mongodb://127.0.0.1:9/?directConnection=true", serverSelectionTimeoutMS=300
    )
    site, served = serve(dead[mongo_db.name], mongo_uri)
    try:
        health = requests.get(f"{site.url}/healthz", timeout=10)
        assert health.status_code == 503
        assert "MongoDB does not answer" in health.json()["reason"]
        page = requests.get(f"{site.url}/login", timeout=10)
        assert page.status_code == 200  # the form needs no database
        session = requests.Session()
        reply = login(site, session, "ana", PASSWORD)
        assert reply.status_code == 503
        assert "MongoDB does not answer" in reply.text
    finally:
        served.stop()
        dead.close()


def test_web_user_takes_the_password_from_standard_input_and_lists_and_removes(
    mongo_db: Db, mongo_uri: str, tmp_path: Path
) -> None:
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    env = cli_env(None, mongo_uri, mongo_db.name)
    command = [sys.executable, "-m", "peakon_ingest.cli", "web-user"]
    added = subprocess.run([*command, "add", "rita", "--role", "admin"], input=PASSWORD + "\n", env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert added.returncode == 0, added.stderr
    stored = mongo_db["web_users"].find_one({"_id": "rita"})
    assert stored is not None
    assert stored["hash"].startswith("$argon2id$")
    assert PASSWORD not in str(stored)
    assert users.verify(mongo_db, "rita", PASSWORD) == users.User("rita", "admin")
    listed = run_cli(["web-user", "list"], env, tmp_path)
    assert listed.stdout.strip() == "rita\tadmin"
    short = subprocess.run([*command, "add", "tom"], input="short\n", env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert short.returncode == 2
    assert "12 characters" in short.stderr
    assert run_cli(["web-user", "remove", "rita"], env, tmp_path).returncode == 0
    assert run_cli(["web-user", "remove", "rita"], env, tmp_path).returncode == 1
    assert mongo_db["web_users"].count_documents({}) == 0


def test_the_web_package_reads_the_operator_through_query_and_settings_only() -> None:
    allowed = {"peakon_ingest.marts.query", "peakon_ingest.settings"}
    package = Path(__file__).resolve().parents[2] / "peakon_ingest" / "web"
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module == "peakon_ingest.marts":
                names = [f"peakon_ingest.marts.{alias.name}" for alias in node.names]
            for name in names:
                if name.startswith("peakon_ingest") and not name.startswith("peakon_ingest.web"):
                    assert name in allowed, f"{source.name} imports {name}"


def test_the_compose_web_users_script_is_the_generated_one() -> None:
    from peakon_ingest.devtools.marts_access import render_web  # noqa: PLC0415

    script = Path(__file__).resolve().parents[2] / "deploy" / "mongo" / "web-user.js"
    regenerate = "python -m peakon_ingest.devtools.marts_access web > deploy/mongo/web-user.js"
    assert script.read_text() == render_web(), regenerate


def test_the_org_search_matches_word_beginnings_in_any_case_and_ids_and_runs_no_pattern(site: Site) -> None:
    analyst = site.session("ana")
    person = site.db["mart_org"].find_one({"depth": 2})
    assert person is not None
    by_name = analyst.get(f"{site.url}/org/search", params={"q": person["name"].upper()}, timeout=10).json()
    assert str(person["_id"]) in [p["id"] for p in by_name]
    *first, last = person["name"].split()
    beginnings = [last[:2].upper(), *(word[:1].lower() for word in first)]  # "Anna Smith": "SM a"
    by_beginnings = analyst.get(f"{site.url}/org/search", params={"q": " ".join(beginnings)}, timeout=10).json()
    for found in by_beginnings:
        words = found["name"].casefold().split()
        assert all(any(word.startswith(b.casefold()) for word in words) for b in beginnings), (beginnings, found)
    assert str(person["_id"]) in [p["id"] for p in by_beginnings] or len(by_beginnings) == 20, person
    assert [str(c) for c in person["chain"]] == next(p["chain"] for p in by_name if p["id"] == str(person["_id"]))
    by_id = analyst.get(f"{site.url}/org/search", params={"q": str(person["_id"])}, timeout=10).json()
    assert by_id[0]["id"] == str(person["_id"])
    assert analyst.get(f"{site.url}/org/search", params={"q": ".*"}, timeout=10).json() == []


def test_behind_an_sso_proxy_the_trusted_header_names_a_known_user(released_db: Db, mongo_uri: str) -> None:
    site, served = serve(released_db, mongo_uri, peakon_web_trusted_header="X-Forwarded-User")
    try:
        runs = requests.get(f"{site.url}/runs", headers={"x-forwarded-user": "ada"}, timeout=10)
        assert runs.status_code == 200
        analyst = requests.get(f"{site.url}/runs", headers={"x-forwarded-user": "ana"}, timeout=10)
        assert analyst.status_code == 403
        stranger = requests.get(
            f"{site.url}/", headers={"x-forwarded-user": "mallory"}, allow_redirects=False, timeout=10
        )
        assert stranger.status_code == 303
        assert requests.get(f"{site.url}/", allow_redirects=False, timeout=10).status_code == 303
    finally:
        served.stop()
