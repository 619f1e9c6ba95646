"""The typical hand-written ingestor: the same pages, one `update_one(..., upsert=True)` per answer."""

from __future__ import annotations

import argparse
from typing import Any

import requests
from pymongo import MongoClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("--base-url", "--mongo-uri", "--database", "--app-token"):
        parser.add_argument(name, required=True)
    parser.add_argument("--per-page", type=int, default=10000)
    args = parser.parse_args()
    session = requests.Session()
    token = session.post(f"{args.base_url}/auth/application", json={"token": args.app_token}, timeout=60).json()
    session.headers["Authorization"] = f"Bearer {token['data']['id']}"
    client: MongoClient[dict[str, Any]] = MongoClient(args.mongo_uri)
    collection = client[args.database]["answers_export"]
    url: str | None = f"{args.base_url}/answers/export?per_page={args.per_page}"
    while url:
        page = session.get(url, timeout=120).json()
        for item in page["data"]:
            collection.update_one({"_id": item["attributes"]["answerId"]}, {"$set": item}, upsert=True)
        url = page["links"].get("next")


if __name__ == "__main__":
    main()
