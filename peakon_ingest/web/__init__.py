"""`peakon-ingest web`: the released figures as pages (README.md beside this file)."""
