"""One ingest, from lock to run record: see README.md."""
