"""The typical hand-written ingestor: the same pages, one `update_one(..., upsert=True)` per answer."""

from __future__ import annotations

from bench.common import baseline_setup


def main() -> None:
    session, collection, url = baseline_setup(__doc__ or "")
    next_url: str | None = url
    while next_url:
        page = session.get(next_url, timeout=120).json()
        for item in page["data"]:
            collection.update_one({"_id": item["attributes"]["answerId"]}, {"$set": item}, upsert=True)
        next_url = page["links"].get("next")


if __name__ == "__main__":
    main()
