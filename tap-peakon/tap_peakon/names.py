"""Names the operator CLI needs without importing the SDK (which costs it half a second)."""

STREAM_NAMES = ("answers_export", "employees", "drivers", "scores_contexts", "scores_by_driver", "drivers_catalog")
# The tap's last log line starts with this, followed by JSON: requests, retries, pages, skipped drivers.
SUMMARY_PREFIX = "tap-peakon summary "
