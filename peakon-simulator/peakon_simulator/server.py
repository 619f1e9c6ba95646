"""The simulator's HTTP server: the Peakon v1 API under `/api/v1`, the control API under `/_sim/`.

Built on the standard library's threaded HTTP server; the handler only routes and shapes JSON.
"""

from __future__ import annotations

import bisect
import email.utils
import gzip
import json
import logging
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

import msgspec

from peakon_simulator.faults import Fault
from peakon_simulator.generator import CATEGORY_GROUPS, DRIVER_SLUGS, EMPLOYEE_ID_BASE, PeakonData
from peakon_simulator.state import SimulatorState

API_PREFIX = "/api/v1"
CONTROL_PREFIX = "/_sim/"
MAX_PER_PAGE = 20_000
MAX_EMPLOYEES_PER_PAGE = 10_000
SCORES_PATH = re.compile(r"/scores/contexts/(?P<context>[^/]+)/group/(?P<group>[^/]+)")
log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def _int_param(query: dict[str, list[str]], name: str, *, low: int, high: int, required: bool) -> int | None:
    values = query.get(name)
    if not values:
        if required:
            raise ApiError(400, f"{name} is required")
        return None
    try:
        value = int(values[0])
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}")
    return value


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: SimulatorState) -> None:
        super().__init__(address, SimulatorHandler)
        self.state = state


class SimulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimulatorServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        log.debug(format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def state(self) -> SimulatorState:
        return self.server.state

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self, status: int, payload: Any, headers: dict[str, str] | None = None, fault: Fault | None = None
    ) -> None:
        body = msgspec.json.encode(payload)  # faster than json, so the simulator is never the bottleneck
        if fault is not None and fault.kind in {"truncate", "reset"}:
            cut = body[: len(body) // 2]
            body = cut if fault.kind == "truncate" else body
            if fault.kind == "reset":
                self._send_then_reset(status, body, cut)
                return
        compressed = self.state.switches.gzip_responses and not self.path.startswith(CONTROL_PREFIX)
        if compressed:
            body = gzip.compress(body, compresslevel=6)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if compressed:
            self.send_header("Content-Encoding", "gzip")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_then_reset(self, status: int, body: bytes, part: bytes) -> None:
        """Promise the whole body, send part of it, then reset the connection (RST, not FIN)."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(part)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        status = 500
        try:
            if url.path.startswith(CONTROL_PREFIX):
                status = self._control(url.path[len(CONTROL_PREFIX) :], self._body())
                return
            status = self._api(url.path, parse_qs(url.query), url.query)
        except ApiError as err:
            status = err.status
            self._send(status, {"errors": [{"status": str(status), "detail": err.detail}]}, err.headers)
        except (ConnectionError, OSError):
            status = 499  # the client went away (or we reset it on purpose)
        finally:
            if not url.path.startswith(CONTROL_PREFIX):
                self.state.record(self.command, url.path, url.query, status)

    # -- the Peakon API ------------------------------------------------------------------------
    def _api(self, full_path: str, query: dict[str, list[str]], raw_query: str) -> int:
        if not full_path.startswith(API_PREFIX + "/"):
            raise ApiError(404, f"no route for {full_path}")
        path = full_path[len(API_PREFIX) :]
        body = self._body() if self.command == "POST" else b""
        if self.state.over_rate_limit():
            raise ApiError(429, "rate limit of the application exceeded")
        fault = self.state.faults.take(path)
        if fault is not None and fault.kind == "status":
            raise ApiError(fault.status, f"injected {fault.status}", self._retry_after(fault))
        if fault is not None and fault.kind == "redirect":
            raise ApiError(307, "moved", {"Location": fault.location + full_path})
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        if path == "/auth/application" and self.command == "POST":
            return self._authenticate(body, fault)
        if self.command != "GET":
            raise ApiError(405, f"{self.command} not allowed on {path}")
        self._require_bearer()
        payload = self._route(path, query, raw_query, fault)
        self._send(200, payload, fault=fault)
        return 200

    @staticmethod
    def _retry_after(fault: Fault) -> dict[str, str]:
        if fault.retry_after is None:
            return {}
        if fault.retry_after_form == "http-date":
            return {"Retry-After": email.utils.formatdate(time.time() + fault.retry_after, usegmt=True)}
        return {"Retry-After": str(int(fault.retry_after))}

    def _authenticate(self, body: bytes, fault: Fault | None) -> int:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type == "application/json":
            if self.state.switches.auth_form_only:
                raise ApiError(415, "JSON is not accepted here; send application/x-www-form-urlencoded")
            try:
                token = json.loads(body or b"{}").get("token")
            except (ValueError, AttributeError):
                raise ApiError(400, "body is not a JSON object") from None
        elif content_type == "application/x-www-form-urlencoded":
            token = next(iter(parse_qs(body.decode()).get("token", [])), None)
        else:
            raise ApiError(415, f"unsupported content type {content_type or '(none)'}")
        if token != self.state.app_token:
            raise ApiError(404, "The application integration with token string cannot be found")
        bearer = self.state.issue_token()
        if self.state.switches.token_in_attributes:
            data: dict[str, Any] = {"type": "bearer_tokens", "attributes": {"token": bearer}}
        else:
            data = {"type": "bearer_tokens", "id": bearer}
        self._send(200, {"data": data}, fault=fault)
        return 200

    def _require_bearer(self) -> None:
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not self.state.use_token(token.strip()):
            raise ApiError(401, "missing, unknown or expired bearer token")

    def _base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{self.headers.get('Host') or f'{host!s}:{port}'}{API_PREFIX}"

    def _link(self, path: str, params: dict[str, Any]) -> str:
        """A link to `path` (under the API root) in the form the `next_link_form` switch asks for."""
        query = urlencode(params)
        form = self.state.switches.next_link_form
        if form == "root-relative":
            return f"{API_PREFIX}{path}?{query}"
        if form == "relative":
            return f"{path.lstrip('/')}?{query}"
        if form == "query":
            return f"?{query}"
        foreign = self.state.switches.next_link_origin
        base = f"{foreign.rstrip('/')}{API_PREFIX}" if foreign else self._base()
        return f"{base}{path}?{query}"

    def _route(self, path: str, query: dict[str, list[str]], raw_query: str, fault: Fault | None) -> dict[str, Any]:
        self_link = f"{self._base()}{path}" + (f"?{raw_query}" if raw_query else "")
        if path == "/answers/export":
            return self._answers(query, self_link, fault)
        if path == "/employees":
            return self._employees(query, self_link)
        if path == "/employees/count":
            return {"count": len(self.state.live_employees()) + self.state.switches.employees_count_offset}
        if path == "/engagement/drivers":
            return {"data": self.state.data.drivers(), "links": {"self": self_link}}
        scores = SCORES_PATH.fullmatch(path)
        if scores:
            return self._scores(scores["context"], scores["group"], self_link)
        raise ApiError(404, f"no route for {path}")

    def _answers(self, query: dict[str, list[str]], self_link: str, fault: Fault | None) -> dict[str, Any]:
        per_page = _int_param(query, "per_page", low=1, high=MAX_PER_PAGE, required=True)
        assert per_page is not None
        after = _int_param(query, "continuation", low=0, high=2**62, required=False)
        total = self.state.answer_count
        start = PeakonData.first_index_after(after) if after is not None else 0
        end = min(start + per_page, total)
        spacing = self.state.switches.minutes_per_response
        data = [self.state.data.answer(i, spacing) for i in range(start, end)]
        odd = self.state.switches.odd_answers_every
        if odd:
            data = [PeakonData.oddify(a) if a["attributes"]["answerId"] % odd == 0 else a for a in data]
        extra = self.state.switches.extra_field
        if extra:  # a field Peakon added that the spec (and the tap's schema) does not describe
            for answer in data:
                answer["attributes"][extra] = "new"
        hostile = self.state.switches.hostile_answers_every
        if hostile:
            kinds = PeakonData.HOSTILE_KINDS
            data = [
                PeakonData.hostile(a, kinds[a["attributes"]["answerId"] // hostile % len(kinds)])
                if a["attributes"]["answerId"] % hostile == 0
                else a
                for a in data
            ]
        first = self._link("/answers/export", {"per_page": per_page})
        next_link: str | None = None
        if end < total:
            last = PeakonData.answer_id(end - 1) if end > 0 else 0
            next_link = self._link("/answers/export", {"per_page": per_page, "continuation": last})
        elif self.state.switches.last_page_next == "self":
            again = {"per_page": per_page} | ({"continuation": after} if after is not None else {})
            next_link = self._link("/answers/export", again)
        elif self.state.switches.last_page_next == "empty":
            last = PeakonData.answer_id(total - 1) if total else 0
            next_link = self._link("/answers/export", {"per_page": per_page, "continuation": last})
        if fault is not None and fault.kind == "loop":
            next_link = first
        return {"data": data, "links": {"self": self_link, "first": first, "next": next_link}}

    def _employees(self, query: dict[str, list[str]], self_link: str) -> dict[str, Any]:
        switches = self.state.switches
        asked = _int_param(query, "per_page", low=1, high=MAX_EMPLOYEES_PER_PAGE, required=False)
        size = min(asked or switches.employees_per_page, switches.employees_per_page)
        live = self.state.live_employees()  # indices, ascending: ids are EMPLOYEE_ID_BASE + index
        if switches.employees_meta_paging:
            pages = max(1, -(-len(live) // size))
            number = _int_param(query, "page", low=1, high=pages, required=False) or 1
            chosen = live[(number - 1) * size : number * size]
            return {
                "data": [self.state.employee(i) for i in chosen],
                "links": {"self": self_link},
                "meta": {"page": {"number": number, "total": pages, "size": size}},
            }
        after = _int_param(query, "continuation", low=0, high=2**62, required=False)
        start = 0 if after is None else bisect.bisect_right(live, after - EMPLOYEE_ID_BASE)
        chosen = live[start : start + size]
        next_link = None
        if start + size < len(live):
            next_link = self._link("/employees", {"per_page": size, "continuation": EMPLOYEE_ID_BASE + chosen[-1]})
        return {"data": [self.state.employee(i) for i in chosen], "links": {"self": self_link, "next": next_link}}

    def _scores(self, context: str, group: str, self_link: str) -> dict[str, Any]:
        if context != f"company_{self.state.data.company_id}":
            raise ApiError(404, f"context {context} not found")
        allowed = group in CATEGORY_GROUPS or (self.state.switches.allow_driver_groups and group in DRIVER_SLUGS)
        if not allowed:
            raise ApiError(422, f"group must be one of {sorted(CATEGORY_GROUPS)}")
        return {"data": self.state.data.category_scores(group), "links": {"self": self_link}}

    # -- the control API -----------------------------------------------------------------------
    def _control(self, action: str, body: bytes) -> int:
        handler = CONTROL_ACTIONS.get((self.command, action))
        if handler is None:
            raise ApiError(404, f"no control action {self.command} /_sim/{action}")
        try:
            result = handler(self.state, json.loads(body) if body else {})
        except (TypeError, ValueError) as err:  # bad JSON, unknown switch or fault field
            raise ApiError(400, str(err)) from None
        self._send(200, result)
        return 200


def _add_faults(state: SimulatorState, raw: dict[str, Any]) -> dict[str, Any]:
    for item in raw.get("faults", [raw]):
        state.faults.add(Fault.from_json(item))
    return state.describe()


def _set_switches(state: SimulatorState, raw: dict[str, Any]) -> dict[str, Any]:
    state.switches.update(raw)
    return state.describe()


def _clear_faults(state: SimulatorState, _raw: dict[str, Any]) -> dict[str, Any]:
    state.faults.clear()
    return state.describe()


def _reset(state: SimulatorState, _raw: dict[str, Any]) -> dict[str, Any]:
    state.reset()
    return state.describe()


CONTROL_ACTIONS: dict[tuple[str, str], Callable[[SimulatorState, dict[str, Any]], Any]] = {
    ("GET", "health"): lambda _state, _raw: {"ok": True},
    ("GET", "state"): lambda state, _raw: state.describe(),
    ("GET", "requests"): lambda state, _raw: {"requests": state.requests()},
    ("DELETE", "requests"): lambda state, _raw: {"cleared": state.clear_requests()},
    ("POST", "answers"): lambda state, raw: state.append_answers(int(raw.get("count", 0))),
    ("POST", "churn"): lambda state, raw: state.churn(
        change=int(raw.get("change", 0)), remove=int(raw.get("remove", 0)), add=int(raw.get("add", 0))
    ),
    ("POST", "switches"): _set_switches,
    ("POST", "faults"): _add_faults,
    ("DELETE", "faults"): _clear_faults,
    ("POST", "reset"): _reset,
}


class SimulatorThread:
    """Runs a simulator on a loopback port in a background thread (for tests and benchmarks)."""

    def __init__(self, state: SimulatorState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.httpd = SimulatorServer((host, port), state)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="peakon-simulator", daemon=True
        )

    @property
    def root(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return self.root + API_PREFIX

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
