"""The pages in a real browser (Playwright driving the system's Chromium): each renders without a
console error, charts carry the marts' numbers, nothing is fetched from another host, axe-core finds
no critical or serious violation, and everything is reachable by keyboard. Screenshots of every page
go to output/screens/ (the README's come from there)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Playwright, Route, sync_playwright

from tests.web.browser import axe_source, chromium
from tests.web.conftest import PASSWORD, XSS, Db, Site

SCREENS = Path(__file__).resolve().parents[2] / "output" / "screens"


@dataclass
class Watched:
    """What a page did: console errors, uncaught errors, and requests to any host but 127.0.0.1."""

    page: Page
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    found = playwright.chromium.launch(executable_path=chromium(), headless=True, args=["--no-sandbox"])
    yield found
    found.close()


def watch(context: BrowserContext) -> Watched:
    page = context.new_page()
    watched = Watched(page)

    def only_loopback(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host != "127.0.0.1":
            watched.foreign.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", only_loopback)
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda err: watched.errors.append(str(err)))

    def refuse(dialog: Dialog) -> None:  # an alert() would be script run from data
        watched.errors.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", refuse)
    return watched


def signed_in(browser: Browser, site: Site, name: str) -> Watched:
    watched = watch(browser.new_context(viewport={"width": 1280, "height": 900}))
    page = watched.page
    page.goto(f"{site.url}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/")
    return watched


def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's critical and serious violations (run through the driver: the page's CSP rightly
    refuses an injected script)."""
    page.evaluate(axe_source())
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in {"critical", "serious"}
    ]


def focusable_reached(page: Page) -> tuple[int, int]:
    """(how many links, buttons and fields the page has, how many Tab reached)."""
    total: int = page.evaluate(
        "() => [...document.querySelectorAll('a[href], button, select, input:not([type=hidden]), [tabindex]')]"
        ".filter(e => !e.closest('[hidden]') && e.offsetParent !== null).length"
    )
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    seen: set[str] = set()
    for _ in range(total + 5):
        page.keyboard.press("Tab")
        seen.add(page.evaluate("() => { const e = document.activeElement; "
                               "return e.tagName + '|' + (e.getAttribute('href') || e.id || e.name || e.textContent) "
                               "+ '|' + [...document.querySelectorAll('*')].indexOf(e); }"))  # fmt: skip
    return total, len(seen - {"BODY"})


def pages(db: Db) -> dict[str, str]:
    row = db["mart_manager_question"].find_one({"question_text": XSS})
    assert row is not None
    return {
        "overview": "/",
        "org": "/org",
        "manager": f"/managers/{row['manager_id']}",
        "segments": "/segments",
        "participation": "/participation",
        "runs": "/runs",
    }


def test_every_page_renders_without_error_fetches_only_from_the_app_and_passes_axe(
    browser: Browser, site: Site
) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    watched = signed_in(browser, site, "ada")
    page = watched.page
    problems: dict[str, Any] = {}
    for name, path in pages(site.db).items():
        reply = page.goto(site.url + path)
        assert reply is not None
        assert reply.status == 200, name
        if name == "org":
            page.wait_for_selector("#tree[data-ready=true]")
        page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
        if violations := axe(page):
            problems[name] = violations
        total, reached = focusable_reached(page)
        assert reached >= total, f"{name}: Tab reached {reached} of {total} links, buttons and fields"
    assert problems == {}
    assert watched.errors == []
    assert watched.foreign == []
    assert page.title() != "pwned"


def test_the_overview_charts_carry_the_sums_of_the_department_rows(browser: Browser, site: Site) -> None:
    page = signed_in(browser, site, "ana").page
    charts = [json.loads(c) for c in page.eval_on_selector_all("figure.chart", "fs => fs.map(f => f.dataset.chart)")]
    months = sorted(str(d["_id"]) for d in site.db["mart_release"].find())
    rows = [r for r in site.db["mart_driver_segment"].find() if len(r["path"]) == 1]
    expected = []
    for month in months:
        mine = [r for r in rows if r["month"] == month]
        expected.append(round(sum(r["score_sum"] for r in mine) / sum(r["answers"] for r in mine), 2))
    assert charts[0] == {"labels": months, "series": {"score (0-10)": expected}}
    staff = {m: list(site.db["mart_participation"].find({"month": m})) for m in months}
    rates = [round(sum(r["respondents"] for r in staff[m]) / sum(r["employees"] for r in staff[m]), 3) for m in months]
    assert charts[2]["series"]["participation"] == rates


def test_hidden_cells_read_hidden_and_markup_in_a_question_runs_nothing(browser: Browser, site: Site) -> None:
    watched = signed_in(browser, site, "ana")
    page = watched.page
    page.goto(site.url + pages(site.db)["manager"])
    hidden = page.locator("td.hidden")
    assert hidden.count() > 0
    assert set(hidden.all_inner_texts()) == {"hidden"}
    assert page.get_by_text(XSS).count() >= 1  # shown as text
    assert page.locator("img").count() == 0
    assert page.title() != "pwned"
    assert watched.errors == []


def test_the_login_is_required_and_an_analyst_gets_403_on_runs(browser: Browser, site: Site) -> None:
    anonymous = watch(browser.new_context()).page
    anonymous.goto(f"{site.url}/segments")
    assert urlsplit(anonymous.url).path == "/login"
    analyst = signed_in(browser, site, "ana").page
    reply = analyst.goto(f"{site.url}/runs")
    assert reply is not None
    assert reply.status == 403
    assert analyst.locator("nav a[href='/runs']").count() == 0


def test_the_org_map_opens_branches_by_keyboard_and_finds_a_person(browser: Browser, site: Site) -> None:
    watched = signed_in(browser, site, "ana")
    page = watched.page
    started = time.monotonic()
    page.goto(f"{site.url}/org")
    page.wait_for_selector("#tree[data-ready=true]")
    assert time.monotonic() - started < 2
    top = page.locator("#tree > ul > li").first
    top.locator(".toggle").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#tree > ul > li > ul > li")
    below = top.locator(":scope > ul > li").count()
    boss = str(top.get_attribute("data-id"))
    assert below == site.db["mart_org"].count_documents({"manager_id": int(boss)})
    deep = site.db["mart_org"].find_one({"depth": 3})
    assert deep is not None
    page.fill("#search", str(deep["name"]))
    page.keyboard.press("Enter")
    page.locator("#search-results button").first.click()
    page.wait_for_selector(f"li[data-id='{deep['_id']}']")
    assert page.evaluate("() => document.activeElement.textContent") == deep["name"]
    assert watched.errors == []
