"""The pages in a real browser (Playwright driving the system's Chromium): each renders without a
console error, charts carry the marts' numbers, nothing is fetched from another host, axe-core finds
no critical or serious violation, and everything is reachable by keyboard. Screenshots of every page
go to output/screens/ (the README's come from there)."""

from __future__ import annotations

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
            page.locator("#tree .toggle").first.click()  # one branch open, for the screenshot
            page.wait_for_selector("#tree > ul > li > ul > li")
        page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
        if violations := axe(page):
            problems[name] = violations
        total, reached = focusable_reached(page)
        assert reached >= total, f"{name}: Tab reached {reached} of {total} links, buttons and fields"
    assert problems == {}
    assert watched.errors == []
    assert watched.foreign == []
    assert page.title() != "pwned"


def drawn(page: Page) -> list[dict[str, Any]]:
    """What ECharts holds for each chart of the page (not the markup the server wrote): its x labels
    and each line's values."""
    page.wait_for_selector("body[data-charts=ready]")
    found: list[dict[str, Any]] = page.evaluate(
        "() => [...document.querySelectorAll('.echart')].map(e => { const o = echarts.getInstanceByDom(e).getOption();"
        " return {labels: o.xAxis[0].data, series: Object.fromEntries(o.series.map(s => [s.name, s.data]))}; })"
    )
    return found


def test_the_overview_charts_carry_the_sums_of_the_department_rows(browser: Browser, site: Site) -> None:
    watched = signed_in(browser, site, "ana")
    charts = drawn(watched.page)
    months = sorted(str(d["_id"]) for d in site.db["mart_release"].find())
    rows = [r for r in site.db["mart_driver_segment"].find() if len(r["path"]) == 1]
    scores, nps = [], []
    for month in months:
        mine = [r for r in rows if r["month"] == month]
        answers = sum(r["answers"] for r in mine)
        scores.append(round(sum(r["score_sum"] for r in mine) / answers, 2))
        nps.append(round(100 * (sum(r["promoters"] for r in mine) - sum(r["detractors"] for r in mine)) / answers))
    staff = {m: list(site.db["mart_participation"].find({"month": m})) for m in months}
    rates = [round(sum(r["respondents"] for r in staff[m]) / sum(r["employees"] for r in staff[m]), 3) for m in months]
    assert charts == [
        {"labels": months, "series": {"score (0-10)": scores}},
        {"labels": months, "series": {"NPS": nps}},
        {"labels": months, "series": {"participation": rates}},
    ]
    assert watched.errors == []  # ECharts' tooltips and styles within the page's CSP


def test_a_managers_trend_lines_carry_the_sums_of_the_drivers_rows(browser: Browser, site: Site) -> None:
    watched = signed_in(browser, site, "ana")
    ident = pages(site.db)["manager"].rsplit("/", 1)[1]
    watched.page.goto(site.url + pages(site.db)["manager"])
    charts = drawn(watched.page)
    months = sorted(str(d["_id"]) for d in site.db["mart_release"].find())
    expected: list[dict[str, Any]] = []
    for scope in ("direct", "team"):
        rows = list(site.db["mart_manager_question"].find({"manager_id": int(ident), "scope": scope}))
        if not rows:
            continue
        lines = {}
        for driver in sorted({str(r.get("driver")) for r in rows}):
            line: list[float | None] = []
            for month in months:
                mine = [r for r in rows if str(r.get("driver")) == driver and r["month"] == month]
                answers = sum(r["answers"] for r in mine)
                line.append(round(sum(r["score_sum"] for r in mine) / answers, 2) if answers else None)
            lines[driver] = line
        expected.append({"labels": months, "series": lines})
    assert expected  # the manager of a direct row: at least that group is drawn
    assert charts == expected
    table = watched.page.locator("table.figures").last  # the last chart's numbers, beside it
    first = next(iter(expected[-1]["series"].values()))
    assert table.locator("tbody tr").first.locator("td").all_inner_texts() == [
        "hidden" if v is None else f"{v:.2f}" for v in first
    ]
    assert watched.errors == []


def test_a_tooltip_is_drawn_inside_the_chart_without_a_csp_violation(browser: Browser, site: Site) -> None:
    watched = signed_in(browser, site, "ana")
    page = watched.page
    page.wait_for_selector("body[data-charts=ready]")
    box = page.locator(".echart").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)
    page.mouse.move(box["x"] + box["width"] / 2 + 5, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)
    assert watched.errors == []


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


def test_the_org_map_pans_and_zooms_by_drag_wheel_buttons_and_keys(browser: Browser, site: Site) -> None:
    watched = signed_in(browser, site, "ana")
    page = watched.page
    page.goto(f"{site.url}/org")
    page.wait_for_selector("#tree[data-ready=true]")

    def view() -> list[float]:
        """The tree's transform in the viewport: [x, y, zoom]."""
        found: list[float] = page.evaluate(
            "() => { const m = new DOMMatrix(getComputedStyle(document.querySelector('#tree > ul')).transform);"
            " return [m.e, m.f, m.a]; }"
        )
        return [round(v, 2) for v in found]

    def first_node() -> tuple[float, float]:
        box = page.locator("#tree .node").first.bounding_box()
        assert box is not None
        return box["x"], box["y"]

    viewport = page.locator("#tree").bounding_box()
    assert viewport is not None
    assert view() == [0, 0, 1]
    before = first_node()
    start = (viewport["x"] + viewport["width"] - 20, viewport["y"] + 20)  # right of every node: no link there
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] - 100, start[1] - 60, steps=5)
    page.mouse.up()
    assert view() == [-100, -60, 1]
    assert first_node() == (before[0] - 100, before[1] - 60)  # what is drawn moved with the drag
    page.mouse.move(viewport["x"] + 50, viewport["y"] + 50)
    page.mouse.wheel(0, -100)
    page.wait_for_function("() => document.getElementById('zoom-level').textContent === '125%'")
    # Zoomed about the pointer, which stays put (to within the pointer's rounding to a whole pixel).
    assert view() == pytest.approx([50 - 150 * 1.25, 50 - 110 * 1.25, 1.25], abs=0.5)
    page.click("#zoom-out")
    assert view()[2] == 1
    page.locator("#tree").focus()
    x = view()[0]
    page.keyboard.press("ArrowRight")
    assert view()[0] == x - 80
    page.keyboard.press("+")
    assert view()[2] == 1.25
    page.keyboard.press("0")
    assert view() == [0, 0, 1]
    page.click("[aria-label='Pan down']")
    assert view() == [0, -80, 1]
    page.locator("#tree").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # the tree moved out of sight, to its left
    assert page.locator("#tree .node").first.bounding_box()["x"] + 200 < viewport["x"]  # type: ignore[index]
    deep = site.db["mart_org"].find_one({"depth": 2})
    assert deep is not None
    page.fill("#search", str(deep["name"]))
    page.keyboard.press("Enter")
    page.locator("#search-results button").first.click()
    page.wait_for_function("name => document.activeElement.textContent === name", arg=str(deep["name"]))
    found = page.evaluate("() => { const b = document.activeElement.getBoundingClientRect(); return [b.x, b.right]; }")
    assert viewport["x"] <= found[0]  # panned back into view
    assert found[1] <= viewport["x"] + viewport["width"]
    assert watched.errors == []
