"""One Page, two paths: the page file written from its bytes is its records, byte for byte."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tap_peakon.batches import encode_lines
from tap_peakon.page import Page
from tap_peakon.streams import AnswersExportStream
from tap_peakon.tap import TapPeakon

BASE = "https://acme.peakon.com/api/v1"
URL = f"{BASE}/answers/export?per_page=7"


def answers_stream() -> AnswersExportStream:
    """The answers stream of a tap that never sends a request here."""
    tap = TapPeakon(config={"app_token": "token", "base_url": BASE, "company_id": 1}, setup_mapper=True)
    stream = tap.streams["answers_export"]
    assert isinstance(stream, AnswersExportStream)
    return stream


ANSWERS = answers_stream()

# What JSON holds (no NaN, no infinity: msgspec would write them as null).
numbers = st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | numbers | st.text()
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)
)
# Described fields mostly, with a field the schema lacks (drift) and envelope names now and then.
attribute_names = st.sampled_from(["answerId", "answerScore", "questionText", "employeeId", "surveyChannel"])
attributes = st.none() | values | st.dictionaries(attribute_names, values | st.integers(0, 10**6).map(str), max_size=5)
top_names = st.sampled_from(["id", "type", "attributes", "id", "type", "attributes", "meta", "fetched_at", "_id"])
items = st.dictionaries(top_names, values | st.integers(0, 10**6).map(str), max_size=4).flatmap(
    lambda item: st.builds(lambda a: {**item, "attributes": a} if "attributes" in item else item, attributes)
)
links = st.none() | st.fixed_dictionaries({"next": st.none() | st.just("?per_page=7&continuation=9")})


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(items | values, max_size=8), links)
def test_a_page_s_file_holds_its_records_byte_for_byte_and_paging_reads_the_same_page(
    data: list[Any], page_links: Any
) -> None:
    """The page-file path (lines from the items' bytes, or decoded where a field is not described)
    and the record path (the same Page, decoded, then shaped as the SDK does) give the same bytes,
    keys and ids; the body is compact JSON, as msgspec writes it, so bytes can be compared."""
    body = msgspec.json.encode({"data": data, "links": page_links})
    page = Page.read(URL, body, BASE, fetched_at="2026-12-01T00:00:00+00:00", elapsed=0.5)
    keys, payload = ANSWERS.page_file(page)
    records = [ANSWERS.post_process(record) or record for record in ANSWERS.page_records(page)]
    assert payload == encode_lines(records)
    assert keys == [record["_id"] for record in records]
    objects = [item for item in data if isinstance(item, dict)]
    assert page.outline.ids == {str(item["id"]) for item in objects if item.get("id") is not None}
    assert page.next_url == (f"{URL}&continuation=9" if page_links and page_links["next"] else None)
