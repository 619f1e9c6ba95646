"""The private SDK parts tap-peakon relies on, checked against the installed SDK.

Each fails when an SDK release renames, re-signs or stops calling what we override or read, so an
upgrade past the pinned range cannot silently turn an override into dead code.
"""

from __future__ import annotations

import dataclasses
import inspect

from singer_sdk import RESTStream, Stream, Tap
from singer_sdk.helpers import _batch
from singer_sdk.plugin_base import PluginBase
from singer_sdk.schema.source import StreamSchema
from singer_sdk.streams._state import StreamStateManager
from tap_peakon.streams import AnswersExportStream
from tap_peakon.table_versions import VersionedStream
from tap_peakon.tap import TapPeakon


def parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_validate_config_is_called_by_the_sdk_with_raise_errors() -> None:
    assert parameters(PluginBase._validate_config) == parameters(TapPeakon._validate_config)
    assert "self._validate_config(raise_errors=" in inspect.getsource(PluginBase.__init__)


def test_sync_all_is_the_sdk_entry_point_we_wrap() -> None:
    assert parameters(Tap.sync_all) == ["self"]
    assert TapPeakon.sync_all is not Tap.sync_all  # ours, around it
    assert "sync_all()" in inspect.getsource(Tap.invoke)


def test_the_bookmark_moves_through_the_hook_answers_override() -> None:
    assert parameters(Stream._increment_stream_state) == parameters(AnswersExportStream._increment_stream_state)
    assert "self._increment_stream_state(record" in inspect.getsource(Stream._sync_records)
    # What our override calls instead of the SDK's (which moves no bookmark in a FULL_TABLE read).
    assert "self.state_manager.increment_state(" in inspect.getsource(Stream._increment_stream_state)
    assert parameters(StreamStateManager.increment_state) == ["self", "latest_record", "context", "replication_key"]


def test_the_page_loop_sends_through_the_sdk_s_request_path() -> None:
    """PeakonStream.fetch sends each attempt with `_request`: auth, the request metrics, validate_response."""
    assert parameters(RESTStream._request) == ["self", "prepared_request", "context"]
    source = inspect.getsource(RESTStream._request)
    assert "self.authenticator(prepared_request)" in source
    assert "self.validate_response(response)" in source


def test_batch_config_has_the_fields_the_batch_writer_reads() -> None:
    storage = {f.name for f in dataclasses.fields(_batch.StorageTarget)}
    encoding = {f.name for f in dataclasses.fields(_batch.BaseBatchFileEncoding)}
    assert {"root", "prefix"} <= storage
    assert {"format", "compression"} <= encoding
    assert {"encoding", "storage"} <= {f.name for f in dataclasses.fields(_batch.BatchConfig)}


def test_table_versions_go_through_the_sdk_hooks_versioned_streams_use() -> None:
    sync = inspect.getsource(Stream.sync)
    assert "self.emit_activate_version_messages" in sync
    assert "self._stream_version = " in sync
    assert "self._write_activate_version_message(self._stream_version)" in sync
    assert "version=self._stream_version" in inspect.getsource(Stream._generate_record_messages)
    assert parameters(Stream._write_activate_version_message) == ["self", "full_table_version"]
    assert "stream_map.stream_alias" in inspect.getsource(Stream._write_activate_version_message)
    # The closing activate's hook: run after each stream's sync returned, never after one that raised.
    assert "stream.sync()\n            stream.finalize_state_progress_markers()" in inspect.getsource(Tap.sync_all)
    assert parameters(Stream.finalize_state_progress_markers) == parameters(
        VersionedStream.finalize_state_progress_markers
    )


def test_a_stream_instance_may_hold_its_own_schema_over_the_class_descriptor() -> None:
    assert not hasattr(StreamSchema, "__set__")  # the discovered employees' schema shadows it


def test_the_catalog_entry_s_replication_method_is_what_the_sdk_applies() -> None:
    """catalog_rules lifts a stream's chosen `replication-method` into the entry, which the SDK reads."""
    source = inspect.getsource(Stream.apply_catalog)
    assert "entry.replication_method" in source
    assert "self.forced_replication_method = replication_method" in source
