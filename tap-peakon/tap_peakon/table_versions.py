"""Table versions: Singer ACTIVATE_VERSION as the spec and the SDK define it.

A stream read in full (FULL_TABLE: every stream but the answers, always; the answers when the
catalog chooses FULL_TABLE or when they start without a bookmark: a first run, a state reset,
Meltano's `--full-refresh`) goes through the SDK's `emit_activate_version_messages` path: an
ACTIVATE_VERSION announces the table version before the first record, and every RECORD carries that
`version`. Once the stream (its child streams included) has been read to the end without error, the
same version is activated again: a target may now remove what this version did not bring. A read
that failed or stopped raised before that, so it never sends the closing message. Stream maps
rename or drop both messages as they do the records (the SDK's writer of the message).
"""

from __future__ import annotations

from typing import Any

from singer_sdk import Stream
from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE
from typing_extensions import override

# The SDK's name for the setting; tap-peakon turns it on by default (tap.py).
SETTING = "emit_activate_version_messages"


class VersionedStream(Stream):
    """A stream whose full reads carry a table version (mixed in before the SDK's stream class)."""

    def prepare_read(self) -> None:
        """Before the sync: an incremental stream reads everything when the catalog chooses FULL_TABLE
        or when it starts without a bookmark. This run is then FULL_TABLE, and its old bookmark is
        dropped: it moves again from the first record (AnswersExportStream moves it in full reads too),
        so the next incremental run starts after this read."""
        if not self.replication_key:
            return
        state = self.tap_state.get("bookmarks", {}).get(self.name, {})  # read, not created
        if self.replication_method == REPLICATION_FULL_TABLE or state.get("replication_key_value") is None:
            self.forced_replication_method = REPLICATION_FULL_TABLE
            state.pop("replication_key_value", None)

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # Announced once per run: a child stream is synced once per parent record and keeps the
        # version its first sync announced (the SDK's private `_stream_version`, which its RECORD
        # messages carry; tap_peakon_tests/test_sdk_contract.py guards it).
        return bool(self.config.get(SETTING)) and self._stream_version is None

    # The SDK calls this after a stream's sync returned (children included), never after one that
    # raised: the one place that knows a read was complete (tap_peakon_tests/test_sdk_contract.py guards it).
    @override
    def finalize_state_progress_markers(self, state: dict[str, Any] | None = None) -> None:
        super().finalize_state_progress_markers(state)
        if self.selected and self._stream_version is not None:
            self._write_activate_version_message(self._stream_version)
