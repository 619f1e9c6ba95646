# syntax=docker/dockerfile:1
# peakon-ingest: the tap, the target and the operator CLI, scheduled by supercronic.

# -- build: wheels of the three packages into a virtual environment --------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY tap-peakon/ tap-peakon/
COPY target-mongo-upsert/ target-mongo-upsert/
COPY pyproject.toml README.md ./
COPY peakon_ingest/ peakon_ingest/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install ./tap-peakon ./target-mongo-upsert .

# -- supercronic: a pinned release, verified by its published SHA-1 --------------------------------
FROM python:3.11-slim-bookworm AS supercronic
ARG SUPERCRONIC_VERSION=v0.2.29
ARG SUPERCRONIC_SHA1SUM=cd48d45c4b10f3f0bfdd3a57d054cd05ac96812b
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ADD https://github.com/aptible/supercronic/releases/download/${SUPERCRONIC_VERSION}/supercronic-linux-amd64 /supercronic
RUN echo "${SUPERCRONIC_SHA1SUM}  /supercronic" | sha1sum -c - \
 && chmod 0755 /supercronic

# -- runtime: slim, non-root ------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 ingest \
 && useradd --system --uid 10001 --gid ingest --home-dir /home/ingest --create-home ingest
COPY --from=build /opt/venv /opt/venv
COPY --from=supercronic /supercronic /usr/local/bin/supercronic
COPY crontab /etc/peakon-ingest/crontab
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SUPERCRONIC_PATH=/usr/local/bin/supercronic
USER 10001:10001
WORKDIR /home/ingest
CMD ["peakon-ingest", "daemon", "--crontab", "/home/ingest/crontab"]
