"""`auth_tokens`: the bearer token kept between runs, so each run need not exchange a new one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.database import Database

TOKENS = "auth_tokens"


def token_id(base_url: str) -> str:
    return f"{base_url}::application"


def stored_token(db: Database[dict[str, Any]], base_url: str) -> str | None:
    document = db[TOKENS].find_one({"_id": token_id(base_url)})
    token = (document or {}).get("bearer_token")
    return token if isinstance(token, str) and token else None


def store_token(db: Database[dict[str, Any]], base_url: str, token: str) -> None:
    key = token_id(base_url)
    document = {"_id": key, "bearer_token": token, "obtained_at": dt.datetime.now(dt.UTC)}
    db[TOKENS].replace_one({"_id": key}, document, upsert=True)
