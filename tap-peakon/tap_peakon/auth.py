"""Peakon authentication: the application token is exchanged for a bearer token.

The exchange runs inside the stream's retried request, so a 5xx, 429 or network error during it is
retried with the same backoff as any other request.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from singer_sdk.authenticators import APIAuthenticatorBase
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_peakon.error_policy import Action, action_for
from tap_peakon.private_files import write_private

# Where replies have been seen to carry the token, most likely first (`data.id` is the spec's place).
TOKEN_PATHS: tuple[tuple[str, ...], ...] = (
    ("data", "id"),
    ("token",),
    ("access_token",),
    ("data", "attributes", "token"),
    ("data", "attributes", "access_token"),
    ("data", "token"),
)
# A JSON body rejected with these means "send a form instead".
FORM_FALLBACK_STATUSES = frozenset({400, 415, 422})


class AuthenticationError(FatalAPIError):
    """Authentication failed in a way retrying cannot fix."""


def _present_keys(document: Any) -> list[str]:
    """The key paths of a reply, never its values (they may be secrets)."""
    keys: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            keys.append(key)
            if isinstance(value, dict):
                keys.extend(f"{key}.{inner}" for inner in _present_keys(value))
    return keys


def extract_token(document: Any) -> str:
    for path in TOKEN_PATHS:
        node = document
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and node.strip():
            return node.strip()
    keys = ", ".join(_present_keys(document)) or "none"
    msg = f"no bearer token in the authentication reply (keys present: {keys})"
    raise AuthenticationError(msg)


def exchange_token(
    session: requests.Session,
    base_url: str,
    app_token: str,
    timeout: float,
    before_request: Callable[[], None] = lambda: None,
) -> str:
    """POST the application token; JSON first, form-encoded if the server rejects JSON."""
    url = f"{base_url}/auth/application"
    before_request()
    # Never redirected: a redirect would send the application token to wherever it points.
    reply = session.post(url, json={"token": app_token}, timeout=timeout, allow_redirects=False)
    if reply.status_code in FORM_FALLBACK_STATUSES:
        before_request()
        reply = session.post(url, data={"token": app_token}, timeout=timeout, allow_redirects=False)
    if reply.status_code == requests.codes.not_found:
        msg = f"application token not recognised by {base_url}"
        raise AuthenticationError(msg)
    action = action_for(reply.status_code)
    if action in {Action.RETRY, Action.RATE_LIMITED}:
        msg = f"HTTP {reply.status_code} from {url} while authenticating"
        raise RetriableAPIError(msg, reply)
    if reply.is_redirect:
        msg = f"authentication at {url} answered a redirect (HTTP {reply.status_code}); not followed"
        raise AuthenticationError(msg)
    if action is not Action.OK:
        msg = f"authentication at {url} failed with HTTP {reply.status_code}"
        raise AuthenticationError(msg)
    try:
        document = reply.json()
    except ValueError as err:
        msg = f"authentication reply from {url} is not JSON: {err}"
        raise RetriableAPIError(msg, reply) from None
    return extract_token(document)


class PeakonAuthenticator(APIAuthenticatorBase):
    """Adds `Authorization: Bearer ...`; exchanges the application token when it has none."""

    def __init__(
        self,
        *,
        base_url: str,
        app_token: str | None,
        bearer_token: str | None,
        timeout: float,
        before_request: Callable[[], None] = lambda: None,
        token_cache_path: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__()
        self._base_url = base_url
        self._app_token = app_token
        self._token = bearer_token
        self._timeout = timeout
        self._before_request = before_request
        self._token_cache_path = token_cache_path
        self._session = session or requests.Session()
        self.exchanges = 0

    @property
    def can_renew(self) -> bool:
        return bool(self._app_token)

    def invalidate(self) -> None:
        """Forget the current token: the next request exchanges the application token again."""
        self._token = None

    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token is None:
            self._token = self._exchange()
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def _exchange(self) -> str:
        if not self._app_token:
            msg = "the bearer token was rejected and no app_token is configured to obtain a new one"
            raise AuthenticationError(msg)
        token = exchange_token(self._session, self._base_url, self._app_token, self._timeout, self._before_request)
        self.exchanges += 1
        self.logger.info("Obtained a new bearer token from %s/auth/application", self._base_url)
        if self._token_cache_path:
            self._store(token)
        return token

    def _store(self, token: str) -> None:
        """Hand the new token to the operator (readable by this user only), to reuse next run."""
        write_private(Path(self._token_cache_path or ""), token)
