"""The raw limit: `requests` + JSON decoding + one unordered `bulk_write` per page; no Singer layer."""

from __future__ import annotations

from pymongo import UpdateOne

from bench.common import baseline_setup


def main() -> None:
    session, collection, url = baseline_setup(__doc__ or "")
    next_url: str | None = url
    while next_url:
        page = session.get(next_url, timeout=120).json()
        operations = [UpdateOne({"_id": i["attributes"]["answerId"]}, {"$set": i}, upsert=True) for i in page["data"]]
        if operations:
            collection.bulk_write(operations, ordered=False)
        next_url = page["links"].get("next")


if __name__ == "__main__":
    main()
