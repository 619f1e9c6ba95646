"""Checks of settings that a JSON schema cannot express, shared with whatever configures the tap.

Importing this module costs nothing of the SDK: an operator can check its variables with the same
rules before it starts the tap.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tap_peakon.privacy import parse_fields


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def plain_http_hosts(config: Mapping[str, Any]) -> set[str]:
    """The host names named in `plain_http_hosts` (comma-separated), lower case."""
    return {host.strip().lower() for host in str(config.get("plain_http_hosts") or "").split(",") if host.strip()}


def base_url_problem(value: Any, config: Mapping[str, Any]) -> str | None:
    """An https URL without user-info (the token must never travel in clear, nor a password in a
    URL that is logged); plain http only to this machine (the simulator, a local proxy) or to a host
    named in `plain_http_hosts` (a simulator on a private container network)."""
    base = urlsplit(str(value))
    if base.scheme not in {"http", "https"} or not base.hostname:
        return "expected an https URL such as https://<subdomain>.peakon.com/api/v1"
    if base.username is not None or base.password is not None:
        return "expected a URL without user:password@ (credentials go in the token settings)"
    if base.scheme == "http" and not is_loopback(base.hostname) and base.hostname not in plain_http_hosts(config):
        return "expected https (plain http only on loopback or to a host in plain_http_hosts)"
    return None


def redact_fields_problem(value: Any, _config: Mapping[str, Any]) -> str | None:
    try:
        parse_fields(value)
    except ValueError as err:
        return str(err)
    return None
