"""The private SDK parts target-mongo-upsert relies on, checked against the installed SDK.

Each fails when an SDK release renames, re-signs or stops calling what we override or read.
"""

from __future__ import annotations

import dataclasses
import inspect

from singer_sdk import Target
from singer_sdk.helpers import _batch
from singer_sdk.plugin_base import PluginBase
from singer_sdk.sinks import Sink
from target_mongo_upsert.sinks import MongoSink
from target_mongo_upsert.target import TargetMongoUpsert


def parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_state_messages_go_through_the_two_hooks_we_override() -> None:
    assert parameters(Target._process_state_message) == parameters(TargetMongoUpsert._process_state_message)
    assert parameters(Target._write_state_message) == parameters(TargetMongoUpsert._write_state_message)
    assert "self._latest_state = state" in inspect.getsource(Target._process_state_message)
    assert "self._write_state_message(" in inspect.getsource(Target.drain_all)
    # The reader dispatches STATE lines to `_process_state_message`.
    assert "_process_state_message" in inspect.getsource(Target)


def test_record_messages_reach_the_handler_we_override_with_their_version() -> None:
    assert parameters(Target._process_record_message) == parameters(TargetMongoUpsert._process_record_message)
    source = inspect.getsource(Target._process_record_message)
    assert 'message_dict["record"]' in source  # the message, version and all, is what it is given
    assert "sink.process_record(" in source  # and the record reaches the sink in the same call
    reader = inspect.getsource(inspect.getmodule(PluginBase))  # type: ignore[arg-type]
    assert "self._process_record_message" in reader  # the reader's dispatch


def test_activate_version_messages_reach_the_handler_we_override() -> None:
    assert parameters(Target._process_activate_version_message) == parameters(
        TargetMongoUpsert._process_activate_version_message
    )
    reader = inspect.getsource(inspect.getmodule(PluginBase))  # type: ignore[arg-type]
    assert "self._process_activate_version_message" in reader  # the reader's dispatch


def test_every_record_goes_through_the_timestamp_parser_we_silence() -> None:
    assert parameters(Sink._parse_timestamps_in_record) == parameters(MongoSink._parse_timestamps_in_record)
    assert "self._parse_timestamps_in_record(" in inspect.getsource(Sink._validate_and_parse)


def test_the_batch_age_is_the_class_constant_we_set() -> None:
    assert isinstance(Target._MAX_RECORD_AGE_IN_MINUTES, float)
    assert "self._MAX_RECORD_AGE_IN_MINUTES" in inspect.getsource(Target)


def test_batch_messages_carry_the_encoding_fields_we_read() -> None:
    assert {"format", "compression"} <= {f.name for f in dataclasses.fields(_batch.BaseBatchFileEncoding)}
    assert parameters(Sink.process_batch_files) == parameters(MongoSink.process_batch_files)
