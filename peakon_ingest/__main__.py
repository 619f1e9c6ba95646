from peakon_ingest.cli import app

app()
