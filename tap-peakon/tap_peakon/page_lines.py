"""Page-file lines made from an API page's own bytes, without building each item in Python.

Decoding every answer into dicts and encoding it again cost more than half of the tap's CPU. An item
whose fields are all ones its schema describes needs neither: its line is its bytes as the server
sent them, with the envelope and the key appended, which decodes to exactly the record the decoded
path would have written (the same fields in the same order). Any other item (a field the schema
does not describe, an envelope field already there, not an object) returns None here and takes the
decoded path, with its schema-drift warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()


class RawPage(msgspec.Struct):
    """A JSON:API document's items, each left as its bytes, with its links and meta (other members skipped)."""

    data: list[msgspec.Raw]
    links: Any = None
    meta: Any = None


_page_decoder = msgspec.json.Decoder(RawPage)


def raw_items(body: bytes) -> RawPage | None:
    """The page's items as their bytes; None when the body is not an object with a `data` array
    (the decoded path says what is wrong). Raises msgspec.DecodeError when it is not JSON. An item's
    values are only skimmed here; `ItemLines.key_parts` or the decoded path checks them all."""
    try:
        return _page_decoder.decode(body)
    except msgspec.ValidationError:
        return None


def _strict(name: str, fields: dict[str, Any]) -> tuple[type[msgspec.Struct], dict[str, str]]:
    """A struct that decodes only objects made of these fields (each optional), and each field's
    attribute name: aliases, so that any field name works."""
    aliases = {field: f"f{i}" for i, field in enumerate(fields)}
    spec = [(aliases[field], kind, None) for field, kind in fields.items()]
    rename = {alias: field for field, alias in aliases.items()}
    return msgspec.defstruct(name, spec, rename=rename, forbid_unknown_fields=True), aliases


class ItemLines:
    """Lines for one stream's items: `top` and `attributes` are the wire fields its schema describes;
    `key_field` is the attribute the key comes from (with `id`)."""

    def __init__(self, top: Iterable[str], attributes: Iterable[str], key_field: str) -> None:
        # Every value is decoded (Any), only to be dropped: msgspec makes a small value faster than a Raw.
        inner, inner_aliases = _strict("Attributes", dict.fromkeys([*attributes, key_field], Any))
        wire = dict.fromkeys(top, Any) | {"id": Any, "attributes": inner | None}
        outer, outer_aliases = _strict("Item", wire)
        self._decoder = msgspec.json.Decoder(outer)
        self._key = inner_aliases[key_field]
        self._id, self._attributes = outer_aliases["id"], outer_aliases["attributes"]

    def key_parts(self, item: msgspec.Raw) -> tuple[Any, Any] | None:
        """(the key attribute, `id`) of an item made only of described fields, each a valid JSON
        value (every value is decoded), else None."""
        try:
            head = self._decoder.decode(item)
        except msgspec.DecodeError:  # another shape, or a value msgspec refuses: the decoded path says which
            return None
        inner = getattr(head, self._attributes)
        return (None if inner is None else getattr(inner, self._key)), getattr(head, self._id)


def envelope_bytes(envelope: dict[str, Any]) -> bytes:
    """The envelope's members as JSON text to append to an object (`"a":1,"b":2`)."""
    return _encoder.encode(envelope)[1:-1]


def line(item: msgspec.Raw, envelope: bytes, key: Any) -> bytes:
    """The item's bytes with the envelope's members and `_id` appended, as one JSONL line."""
    body = bytes(item).rstrip()
    head = body[:-1].rstrip()
    separator = b"" if head == b"{" else b","
    return b"".join((head, separator, envelope, b',"_id":', _encoder.encode(key), b"}\n"))
