"""`auth_tokens`: the bearer token kept between runs, so each run need not exchange a new one.

Stored encrypted (Fernet) with a key derived from the application token: whoever can read the
database, analysts included, cannot call Peakon with it. A token that no longer decrypts (another
application token, a tampered document, the plain token of an older version) is simply exchanged again.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pymongo.database import Database

TOKENS = "auth_tokens"
FIELD = "bearer_token_encrypted"


def token_id(base_url: str) -> str:
    return f"{base_url}::application"


def _cipher(app_token: str, base_url: str) -> Fernet:
    # HKDF suits a long random secret such as an application token; the document id is the salt.
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=token_id(base_url).encode(), info=b"peakon-ingest bearer token"
    ).derive(app_token.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def stored_token(db: Database[dict[str, Any]], base_url: str, app_token: str) -> str | None:
    document = db[TOKENS].find_one({"_id": token_id(base_url)})
    encrypted = (document or {}).get(FIELD)
    if not isinstance(encrypted, str):
        return None
    try:
        return _cipher(app_token, base_url).decrypt(encrypted.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def store_token(db: Database[dict[str, Any]], base_url: str, app_token: str, token: str) -> None:
    key = token_id(base_url)
    encrypted = _cipher(app_token, base_url).encrypt(token.encode()).decode()
    document = {"_id": key, FIELD: encrypted, "obtained_at": dt.datetime.now(dt.UTC)}
    db[TOKENS].replace_one({"_id": key}, document, upsert=True)
