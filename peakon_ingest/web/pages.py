"""The pages: each reads through `query`, checks its input (400/404) and renders one template.

Handlers are plain functions run in a worker thread (pymongo blocks); `page(role)` guards each.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from peakon_ingest.marts import query
from peakon_ingest.web.app import config, render

Guard = Callable[[str], Callable[[Callable[[Request], Response]], Any]]
EMPTY = "no released month yet: run peakon-ingest ingest"
SEARCH = (2, 100)  # the length of a search text


# -- input --------------------------------------------------------------------------------------------
def month_param(request: Request, months: Sequence[str]) -> str:
    """`?month=` (default: the latest released): malformed 400, not released 404."""
    value = request.query_params.get("month") or months[-1]
    if not query.MONTH.fullmatch(value):
        raise HTTPException(400, f"month: expected YYYY-MM (got {value[:20]!r})")
    if value not in months:
        raise HTTPException(404, f"month {value} is not released (the latest is {months[-1]})")
    return value


def driver_param(request: Request, drivers: Sequence[str]) -> str | None:
    value = request.query_params.get("driver")
    if value is None:
        return drivers[0] if drivers else None
    if value not in drivers:
        raise HTTPException(400, f"driver: expected one of {', '.join(drivers) or 'none this month'}")
    return value


# -- charts: their numbers in the page (drawn by static/charts.js with the vendored ECharts) -------------
def line_chart(labels: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> dict[str, Any]:
    """One line per series over `labels`, a gap where a value is hidden. `data` is what the page's
    script draws, `rows` the same numbers for the table beside the chart (its accessible view)."""
    rows = [{"name": name, "values": list(values)} for name, values in series.items()]
    data = json.dumps({"labels": list(labels), "series": {row["name"]: row["values"] for row in rows}})
    return {"labels": list(labels), "rows": rows, "data": data}


def heat(score: query.Score | None) -> dict[str, Any]:
    """A heatmap cell: the score's mean and its colour step, or hidden."""
    if score is None:
        return {"hidden": True}
    return {"hidden": False, "mean": score.mean, "nps": score.nps, "answers": score.answers,
            "step": max(0, min(9, int(score.mean)))}  # fmt: skip


def grouped(rows: Iterable[Mapping[str, Any]], *fields: str) -> dict[tuple[Any, ...], list[Mapping[str, Any]]]:
    found: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        found.setdefault(tuple(row.get(f) for f in fields), []).append(row)
    return found


def csv_response(rows: list[dict[str, Any]], name: str, filename: str) -> Response:
    body = query.csv(query.frame(rows, name)) if rows else b""
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})  # fmt: skip


def empty(request: Request, title: str) -> Response:
    return render(request, "empty.html", title=title, message=EMPTY, user=request.state.user)


# -- pages --------------------------------------------------------------------------------------------
def overview(request: Request) -> Response:
    cfg = config(request)
    months = query.released(cfg.db)
    if not months:
        return empty(request, "Overview")
    scores = query.company(cfg.db, months)
    people = grouped(query.participation(cfg.db), "month")
    rates: list[float | None] = []
    for month in months:
        rows = people.get((month,), [])
        staff = sum(int(r["employees"]) for r in rows)
        rates.append(round(sum(int(r["respondents"]) for r in rows) / staff, 3) if staff else None)
    means = [s.mean if s else None for s in scores.values()]
    nps = [float(s.nps) if s else None for s in scores.values()]
    upcoming, due = query.next_due(months[-1], cfg.grace_days, dt.datetime.now(dt.UTC).date())
    run = query.last_run(cfg.db)
    return render(
        request, "overview.html", title="Overview", user=request.state.user, months=months,
        table=[{"month": m, "score": scores[m], "rate": r} for m, r in zip(months, rates, strict=True)],
        score_chart=line_chart(months, {"score (0-10)": means}), nps_chart=line_chart(months, {"NPS": nps}),
        rate_chart=line_chart(months, {"participation": rates}),
        latest=months[-1], upcoming=upcoming, due=due, k=cfg.min_respondents,
        run_line=query.run_line(run) if run else "no run has finished yet",
    )  # fmt: skip


def org(request: Request) -> Response:
    cfg = config(request)
    months = query.released(cfg.db)
    if not months:
        return empty(request, "Org map")
    month = month_param(request, months)
    drivers = query.drivers(cfg.db, month)
    driver = driver_param(request, drivers)
    return render(request, "org.html", title="Org map", user=request.state.user, months=months, month=month,
                  drivers=drivers, driver=driver, k=cfg.min_respondents)  # fmt: skip


def org_children(request: Request) -> Response:
    """JSON: the employees right under `?id=` (none: the tops), each with the team's figure."""
    cfg = config(request)
    months = query.released(cfg.db)
    manager = request.query_params.get("id")
    if manager is not None and query.employee(cfg.db, manager) is None:
        raise HTTPException(404, "no such employee")
    rows = query.children(cfg.db, manager)
    scores: dict[str, query.Score | None] = {}
    if months:
        month = month_param(request, months)
        driver = driver_param(request, query.drivers(cfg.db, month))
        managers = [row["employee_id"] for row in rows if row.get("direct_reports")]
        scores = query.team_scores(cfg.db, month, driver, managers) if driver and managers else {}
    return JSONResponse([node(row, scores) for row in rows])


def node(row: Mapping[str, Any], scores: Mapping[str, query.Score | None]) -> dict[str, Any]:
    score = scores.get(str(row["employee_id"]))
    return {
        "id": str(row["employee_id"]), "name": row.get("name") or str(row["employee_id"]),
        "department": row.get("department"), "reports": int(row.get("total_reports") or 0),
        "score": score.mean if score else None,
    }  # fmt: skip


def org_search(request: Request) -> Response:
    text = request.query_params.get("q", "").strip()
    if not SEARCH[0] <= len(text) <= SEARCH[1]:
        raise HTTPException(400, f"q: expected {SEARCH[0]} to {SEARCH[1]} characters")
    found = query.search(config(request).db, text)
    return JSONResponse([{"id": str(r["employee_id"]), "name": r.get("name") or str(r["employee_id"]),
                          "department": r.get("department"), "chain": [str(c) for c in r.get("chain") or []]}
                         for r in found])  # fmt: skip


def manager(request: Request) -> Response:
    cfg = config(request)
    ident = request.path_params["ident"]
    person = query.employee(cfg.db, ident)
    if person is None:
        raise HTTPException(404, f"no employee {ident[:40]!r} in the org chart")
    months = query.released(cfg.db)
    rows = query.manager_rows(cfg.db, ident)
    if request.url.path.endswith(".csv"):
        return csv_response(rows, "manager_question", f"manager-{ident}.csv")
    scopes = []
    for scope in ("direct", "team"):
        mine = [row for row in rows if row["scope"] == scope]
        questions = sorted({(r.get("driver") or "", r["question_id"], r.get("question_text") or "") for r in mine})
        cells = grouped(mine, "question_id", "month")
        grid = [{"driver": d, "text": text or str(q),
                 "cells": [heat(query.summed(cells.get((q, m), []))) for m in months]}
                for d, q, text in questions]  # fmt: skip
        by_driver = grouped(mine, "driver", "month")
        names = sorted({str(r.get("driver")) for r in mine})
        trend = line_chart(months, {d: [(s.mean if (s := query.summed(by_driver.get((d, m), []))) else None)
                                        for m in months] for d in names})  # fmt: skip
        scopes.append({"scope": scope, "grid": grid, "trend": trend, "partial": sum(not r["complete"] for r in mine)})
    return render(request, "manager.html", title=f"Manager {person.get('name') or ident}", user=request.state.user,
                  person=person, ident=ident, months=months, scopes=scopes, k=cfg.min_respondents)  # fmt: skip


def segments(request: Request) -> Response:
    cfg = config(request)
    months = query.released(cfg.db)
    if not months:
        return empty(request, "Segments")
    month = month_param(request, months)
    rows = query.segments_of(cfg.db, month)
    if request.url.path.endswith(".csv"):
        return csv_response(rows, "driver_segment", f"segments-{month}.csv")
    drivers = sorted({str(r["driver"]) for r in rows})
    cells = grouped(rows, "segment", "segment_value", "driver")
    values = sorted({(len(r["path"]), r["segment"], tuple(r["path"])) for r in rows})
    grid = [{"level": level, "segment": seg, "value": " / ".join(map(str, path)),
             "cells": [heat(query.summed(cells.get((seg, path[-1], d), []))) for d in drivers]}
            for level, seg, path in values]  # fmt: skip
    return render(request, "segments.html", title="Segments", user=request.state.user, months=months, month=month,
                  drivers=drivers, grid=grid, k=cfg.min_respondents)  # fmt: skip


def participation(request: Request) -> Response:
    cfg = config(request)
    months = query.released(cfg.db)
    if not months:
        return empty(request, "Participation")
    rows = query.participation(cfg.db)
    if request.url.path.endswith(".csv"):
        return csv_response(rows, "participation", "participation.csv")
    cells = grouped(rows, "department", "month")
    departments = sorted({r.get("department") for r in rows}, key=lambda d: (d is None, str(d)))
    grid = [{"department": d if d is not None else "other departments (pooled)",
             "cells": [cells.get((d, m), [None])[0] for m in months]} for d in departments]  # fmt: skip
    return render(request, "participation.html", title="Participation", user=request.state.user, months=months,
                  grid=grid, k=cfg.min_respondents)  # fmt: skip


def runs(request: Request) -> Response:
    cfg = config(request)
    moment = dt.datetime.now(dt.UTC)
    healthy, line = query.health_line(cfg.db, cfg.settings, moment)
    return render(request, "runs.html", title="Runs", user=request.state.user, runs=query.runs(cfg.db),
                  healthy=healthy, line=line, calendar=query.calendar(cfg.db),
                  next=query.next_due(query.released(cfg.db)[-1] if query.released(cfg.db) else None,
                                      cfg.grace_days, moment.date()))  # fmt: skip


def routes(page: Guard) -> list[Route]:
    analyst, admin = page("analyst"), page("admin")
    return [
        Route("/", analyst(overview)),
        Route("/org", analyst(org)),
        Route("/org/children", analyst(org_children)),
        Route("/org/search", analyst(org_search)),
        Route("/managers/{ident:str}.csv", analyst(manager)),
        Route("/managers/{ident:str}", analyst(manager)),
        Route("/segments", analyst(segments)),
        Route("/segments.csv", analyst(segments)),
        Route("/participation", analyst(participation)),
        Route("/participation.csv", analyst(participation)),
        Route("/runs", admin(runs)),
    ]
