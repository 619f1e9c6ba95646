"""What the CLI adds to a bare fact so a newcomer knows the next step: one home for those texts."""

from __future__ import annotations

import re

NO_RUNS = "no runs yet: run peakon-ingest ingest"

# The tap's error for a refused request is "HTTP <status> from <path>[ (request id ...)]"
# (tap-peakon's client); a 404 on the company's score context means no such company.
_COMPANY_404 = re.compile(r"^HTTP 404 from (?P<path>\S*/scores/contexts/company_(?P<company>[^/\s]+))")

ENVIRONMENT = """\b
Configured by environment variables (or .env in the working directory):
  PEAKON_APP_TOKEN         the application token (or PEAKON_APP_TOKEN_FILE)
  PEAKON_BASE_URL          your Peakon API root
  PEAKON_COMPANY_ID        your company id
  MONGO_URI, MONGO_DB      where the data goes
  SCHEDULE_CRON, CRON_TZ   when `daemon` runs an ingest
  LOG_LEVEL, LOG_FORMAT    how much to log, and text or json
  PEAKON_RUN_TIMEOUT       how long a run may take
Every variable, its default and bounds: README.md, section Configuration."""


def explain(error: str) -> str:
    """The run's error, with what to check when the error says what it is."""
    found = _COMPANY_404.match(error)
    if found:
        return f"{error}: Peakon has no company {found['company']}; check PEAKON_COMPANY_ID"
    return error
