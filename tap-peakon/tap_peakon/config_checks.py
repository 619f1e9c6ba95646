"""Checks of settings that a JSON schema cannot express, shared with whatever configures the tap.

Importing this module costs nothing of the SDK: an operator can check its variables with the same
rules before it starts the tap.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tap_peakon.redaction import parse_fields


def base_url_problem(value: Any) -> str | None:
    base = urlsplit(str(value))
    if base.scheme not in {"http", "https"} or not base.netloc:
        return "expected an http(s) URL such as https://<subdomain>.peakon.com/api/v1"
    return None


def redact_fields_problem(value: Any) -> str | None:
    try:
        parse_fields(value)
    except ValueError as err:
        return str(err)
    return None
