"""The ASGI app: routes, who may open them, the headers every response carries, and the error pages.

Pages read through `peakon_ingest.marts.query` only (figures from released marts, never raw
answers); handlers are in `pages`, the session and its CSRF token here.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pymongo.database import Database
from pymongo.errors import PyMongoError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from peakon_ingest.marts import query
from peakon_ingest.settings import Settings
from peakon_ingest.web import users

HERE = Path(__file__).parent
SESSION, LOGIN = "peakon_session", "peakon_login"  # the signed-in session; the login form's CSRF token
SESSION_SECONDS = 12 * 3600
HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
Handler = Callable[[Request], Awaitable[Response]]
View = Callable[[Request], Response]  # a page: plain code run in a worker thread (pymongo blocks)


@dataclass
class Config:
    """What the app needs besides the request: the database and the settings it reads."""

    db: Database[dict[str, Any]]
    settings: Settings
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    throttle: users.Throttle = field(default_factory=users.Throttle)

    @property
    def min_respondents(self) -> int:
        return self.settings.peakon_min_respondents

    @property
    def grace_days(self) -> int:
        return self.settings.peakon_release_grace_days


class Headers:
    """Every response, pages, errors and assets alike, carries the browser-security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *[(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in HEADERS],
                    *[(k.encode(), v.encode()) for k, v in HEADERS.items()],
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


templates = Jinja2Templates(directory=HERE / "templates")  # autoescapes .html


def config(request: Request) -> Config:
    found: Config = request.app.state.config
    return found


def signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config(request).secret, salt="peakon-web")


def read_cookie(request: Request, name: str) -> dict[str, str] | None:
    value = request.cookies.get(name)
    if not value:
        return None
    try:
        data = signer(request).loads(value, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def set_cookie(request: Request, response: Response, name: str, data: dict[str, str] | None) -> None:
    secure = request.url.scheme == "https"  # behind an https proxy (uvicorn's --proxy-headers)
    if data is None:
        response.delete_cookie(name, httponly=True, samesite="strict", secure=secure)
        return
    value = signer(request).dumps(data)
    response.set_cookie(name, value, max_age=SESSION_SECONDS, httponly=True, samesite="strict", secure=secure)


async def current_user(request: Request) -> tuple[users.User, str] | None:
    """The signed-in user and their session's CSRF token (or the SSO proxy's user)."""
    header = config(request).settings.peakon_web_trusted_header
    if header and (name := request.headers.get(header)):
        found = await run_in_threadpool(users.known, config(request).db, name)
        token = hmac.new(config(request).secret.encode(), name.encode(), "sha256").hexdigest()
        return (found, token) if found else None
    session = read_cookie(request, SESSION)
    if session is None:
        return None
    # Read again on every request: a user removed (or given another role) is so at once.
    found = await run_in_threadpool(users.known, config(request).db, str(session.get("u")))
    return (found, str(session.get("c"))) if found else None


def render(request: Request, template: str, code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(request, template, context, status_code=code)


def error(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status, status=status, message=message, user=None)


def page(role: str) -> Callable[[View], Handler]:
    """A page that needs a signed-in user of `role` or above: else the login, or 403."""

    def wrap(handler: View) -> Handler:
        async def guarded(request: Request) -> Response:
            found = await current_user(request)
            if found is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={target}" if target != "/" else "/login", status_code=303)
            user, csrf = found
            if not user.may(role):
                return error(request, 403, f"this page is for the {role} role")
            request.state.user, request.state.csrf = user, csrf
            return await run_in_threadpool(handler, request)

        guarded.__name__ = handler.__name__
        return guarded

    return wrap


async def healthz(request: Request) -> Response:
    try:
        await run_in_threadpool(query.ping, config(request).db)
    except PyMongoError as err:
        return JSONResponse({"status": "unavailable", "reason": f"MongoDB does not answer ({type(err).__name__})"}, 503)
    return JSONResponse({"status": "ok"})


async def login_form(request: Request, status: int = 200, message: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status, csrf=token, message=message, user=None,
                      next=safe_next(request.query_params.get("next")))  # fmt: skip
    set_cookie(request, response, LOGIN, {"c": token})
    return response


def safe_next(target: str | None) -> str:
    """Only a path of this site (never `//host` or a scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def login(request: Request) -> Response:
    if request.method == "GET":
        return await login_form(request)
    form = await request.form()
    expected = (read_cookie(request, LOGIN) or {}).get("c")
    if not expected or not secrets.compare_digest(str(form.get("csrf", "")), expected):
        return error(request, 400, "the form expired or came from another site: open the login page again")
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    address = request.client.host if request.client else "-"
    throttle = config(request).throttle
    if throttle.blocked(name, address):
        response = await login_form(request, 429, "too many failed logins: wait a minute")
        response.headers["retry-after"] = "60"
        return response
    user = await run_in_threadpool(users.verify, config(request).db, name, password)
    if user is None:
        throttle.failed(name, address)
        return await login_form(request, 401, "wrong name or password")
    response = RedirectResponse(safe_next(str(form.get("next", "/"))), status_code=303)
    set_cookie(request, response, SESSION, {"u": user.name, "c": secrets.token_urlsafe(24)})
    set_cookie(request, response, LOGIN, None)
    return response


async def logout(request: Request) -> Response:
    found = await current_user(request)
    form = await request.form()
    if found is None or not secrets.compare_digest(str(form.get("csrf", "")), found[1] or "-"):
        return error(request, 400, "the form expired or came from another site")
    response = RedirectResponse("/login", status_code=303)
    set_cookie(request, response, SESSION, None)
    return response


async def not_found(request: Request, exc: Exception) -> Response:
    detail = exc.detail if isinstance(exc, HTTPException) else "not found"
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    return error(request, status, str(detail))


async def unavailable(request: Request, exc: Exception) -> Response:
    return error(request, 503, f"MongoDB does not answer ({type(exc).__name__}): try again shortly")


def static_files() -> ASGIApp:
    """The scripts, styles and icons, gzip'd for a client that takes it (ECharts: 1 MB, 0.33 MB
    zipped). Only these: a page holds a CSRF token beside text a visitor can choose (BREACH)."""
    return GZipMiddleware(StaticFiles(directory=HERE / "static"), minimum_size=1000)


def create_app(settings: Config) -> Starlette:
    from peakon_ingest.web import pages  # noqa: PLC0415 - pages use `page`, defined above

    routes = [
        Route("/healthz", healthz),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        *pages.routes(page),
        Mount("/static", static_files(), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Headers)],
        exception_handlers={HTTPException: not_found, PyMongoError: unavailable},
    )
    app.state.config = settings
    return app
