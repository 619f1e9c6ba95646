"""The compose scenarios run only under `make container-test` (tests/container/run.py prepares the
engine, the images and the project copy first); `make test` collects nothing here."""

import os

from tests.container.compose import PROJECT_ENV

collect_ignore_glob = [] if os.environ.get(PROJECT_ENV) else ["test_*.py"]
