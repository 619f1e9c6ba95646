"""The app from the operator's settings, and the server that runs it."""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient

from peakon_ingest.settings import Settings
from peakon_ingest.web.app import Config, create_app


def client_of(settings: Settings) -> MongoClient[dict[str, Any]]:
    """PEAKON_WEB_MONGO_URI (the pages' least-privilege user), else MONGO_URI. Connects lazily: the
    pages answer 503 while MongoDB does not, and work again once it does."""
    uri = settings.peakon_web_mongo_uri.get_secret_value() if settings.peakon_web_mongo_uri else None
    timeout = int(settings.mongo_timeout_seconds * 1000)
    return MongoClient(uri or settings.connection_uri(), serverSelectionTimeoutMS=min(timeout, 3000))


def config_of(settings: Settings, client: MongoClient[dict[str, Any]]) -> Config:
    secret = settings.peakon_web_secret.get_secret_value() if settings.peakon_web_secret else None
    config = Config(client[settings.mongo_db], settings)
    if secret:
        config.secret = secret
    return config


def serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn  # noqa: PLC0415

    with client_of(settings) as client:
        app = create_app(config_of(settings, client))
        # Behind an https proxy on the same host, its X-Forwarded-Proto makes session cookies Secure.
        uvicorn.run(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                    server_header=False, log_level="info")  # fmt: skip
