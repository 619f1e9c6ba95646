"""peakon-ingest: Workday Peakon data into MongoDB, kept fresh every week."""

__version__ = "0.1.0"
