# peakon-ingest: the tap, the target and the operator CLI, scheduled by supercronic.
# (No `# syntax=` line: BuildKit's built-in frontend builds this, with no image to pull.)

# The scheduler stage the image takes: `supercronic` (the release, verified), or `supercronic-standin`,
# which only the offline container test selects (tests/container: GitHub is out of reach there).
ARG SCHEDULER=supercronic

# -- build: the runtime set (tap, target, operator) into a virtual environment; never the simulator --
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Every third-party package pinned and checked by hash (deploy/requirements.lock, `make lock`); then
# the three packages themselves, with nothing more.
COPY deploy/requirements.lock deploy/requirements.lock
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes -r deploy/requirements.lock
COPY tap-peakon/ tap-peakon/
COPY target-mongo-upsert/ target-mongo-upsert/
COPY pyproject.toml README.md ./
COPY peakon_ingest/ peakon_ingest/
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation ./tap-peakon ./target-mongo-upsert .

# -- simulator (demo profile only): the development-only Peakon simulator, in an image of its own ---
FROM python:3.11-slim-bookworm AS simulator
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY peakon-simulator/ /src/peakon-simulator/
RUN python -m venv /opt/venv && /opt/venv/bin/pip install /src/peakon-simulator
USER 10001:10001
CMD ["/opt/venv/bin/peakon-simulator", "--host", "0.0.0.0", "--port", "8089"]

# -- supercronic: the current release for the target architecture, verified by its published SHA-1 -
# The checksums are those the release page publishes under "Installation Instructions":
# https://github.com/aptible/supercronic/releases/tag/v0.2.49 (supercronic-linux-amd64, -arm64).
FROM python:3.11-slim-bookworm AS supercronic
ARG TARGETARCH=amd64
ARG SUPERCRONIC_VERSION=v0.2.49
ARG SUPERCRONIC_SHA1SUM_AMD64=e63c11a9726b775a6a11801e81af4f3fb926aa68
ARG SUPERCRONIC_SHA1SUM_ARM64=0b6c5bb743e0b0dafed1132198c81807927ac413
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ADD https://github.com/aptible/supercronic/releases/download/${SUPERCRONIC_VERSION}/supercronic-linux-${TARGETARCH} /supercronic
RUN case "${TARGETARCH}" in \
      amd64) sum="${SUPERCRONIC_SHA1SUM_AMD64}" ;; \
      arm64) sum="${SUPERCRONIC_SHA1SUM_ARM64}" ;; \
      *) echo "supercronic: no checksum for ${TARGETARCH} (amd64 and arm64 are built)" >&2; exit 1 ;; \
    esac \
 && echo "${sum}  /supercronic" | sha1sum -c - \
 && chmod 0755 /supercronic

# -- the container test's stand-in: supercronic's stop semantics, in Python (tests/operation) --------
FROM python:3.11-slim-bookworm AS supercronic-standin
COPY tests/operation/standin_supercronic.py /supercronic

# hadolint ignore=DL3006
FROM ${SCHEDULER} AS scheduler

# -- runtime: slim, non-root ------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 ingest \
 && useradd --system --uid 10001 --gid ingest --home-dir /home/ingest --create-home ingest
COPY --from=build /opt/venv /opt/venv
COPY --from=scheduler /supercronic /usr/local/bin/supercronic
COPY crontab /etc/peakon-ingest/crontab
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SUPERCRONIC_PATH=/usr/local/bin/supercronic
USER 10001:10001
WORKDIR /home/ingest
# Healthy while the last ingest succeeded and the next is not overdue (the first run may take a while).
HEALTHCHECK --interval=5m --timeout=60s --start-period=30m --retries=2 CMD ["peakon-ingest", "status", "--check"]
CMD ["peakon-ingest", "daemon", "--crontab", "/home/ingest/crontab"]
