"""Reading Singer messages with msgspec, failing on a bad line with its number (never its content)."""

from __future__ import annotations

from typing import Any

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import InvalidInputLine


class NumberedMsgSpecReader(MsgSpecReader):
    def __init__(self) -> None:
        super().__init__()
        self.line_number = 0
        self._decoder = msgspec.json.Decoder()

    def deserialize_json(self, line: str) -> dict[str, Any]:
        self.line_number += 1
        try:
            message = self._decoder.decode(line)
        except msgspec.DecodeError as err:
            msg = f"line {self.line_number} of the input is not valid Singer JSON: {err}"
            raise InvalidInputLine(msg) from None
        if not isinstance(message, dict):
            msg = f"line {self.line_number} of the input is not a Singer message (a JSON object)"
            raise InvalidInputLine(msg)
        return message
