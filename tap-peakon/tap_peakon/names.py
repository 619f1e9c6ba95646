"""Names the operator CLI needs without importing the SDK (which costs it half a second)."""

STREAM_NAMES = ("answers_export", "employees", "drivers", "scores_contexts", "scores_by_driver", "drivers_catalog")

# The fields the tap adds to every record, after the API's own: when, by which run and from where it
# was read. The target is told they differ between reads of the same content (never a change).
ENVELOPE_FIELDS = ("fetched_at", "run_id", "endpoint", "source_url")
# The key in a stream's bookmark that says how far its read got (answers: the SDK's own key).
READ_UP_TO = {"answers_export": "replication_key_value", "employees": "last_employee_id"}


def envelope(fetched_at: str, run_id: str, endpoint: str, source_url: str) -> dict[str, str]:
    return dict(zip(ENVELOPE_FIELDS, (fetched_at, run_id, endpoint, source_url), strict=True))
