"""Names the operator CLI needs without importing the SDK (which costs it half a second)."""

STREAM_NAMES = ("answers_export", "employees", "drivers", "scores_contexts", "scores_by_driver", "drivers_catalog")
