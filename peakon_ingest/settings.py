"""The operator's settings: environment variables (and `.env`).

Variables that configure a plugin are kept as text here and mapped onto the plugin's setting by
`plugin_settings.TABLE`: type, default and bounds are the plugin's. The others belong to the
operator and are defined below with their defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote_plus

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.errors import ConfigurationError, InvalidURI
from pymongo.uri_parser import parse_uri

from peakon_ingest import plugin_settings
from peakon_ingest.marts.options import DEFAULT_GRACE_DAYS, DEFAULT_SEGMENTS, Options
from peakon_ingest.plugin_settings import TAP, TARGET, SettingError
from peakon_ingest.schedule.cron import Schedule, zone

MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")
FORBIDDEN_IN_DB_NAME = set('/\\. "$')
# Below 3 respondents a group's figures say too much about each person in it.
LEAST_RESPONDENTS = 3


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the variable and what it expects."""


class Settings(BaseSettings):
    # A variable set to nothing (`ALERT_WEBHOOK_URL=` as .env.example has it) is as if unset.
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    # -- mapped onto tap-peakon's settings (plugin_settings.TABLE); the tap's defaults apply ------
    peakon_app_token: SecretStr | None = None
    # The tap has no tenant defaults (a forgotten setting must not send a token to another company's
    # subdomain); the operator keeps the ones it always had, and passes them in.
    peakon_base_url: str = "https://pax8inc.peakon.com/api/v1"
    peakon_plain_http_hosts: str | None = None
    peakon_company_id: str = "22182"
    peakon_engagement_group: str | None = None
    peakon_per_page: str | None = None
    peakon_max_requests_per_hour: str | None = None
    peakon_max_retries: str | None = None
    peakon_backoff_base_seconds: str | None = None
    peakon_max_retry_wait_seconds: str | None = None
    http_timeout_seconds: str | None = None
    peakon_max_response_bytes: str | None = None
    peakon_redact_fields: str | None = None
    peakon_redact_mode: str | None = None
    peakon_redact_key: SecretStr | None = None
    peakon_pseudonymize_ids: str | None = None
    # -- the operator's own (MONGO_URI and MONGO_DB are also mapped onto the target's settings) ----
    peakon_app_token_file: Path | None = None
    peakon_redact_key_file: Path | None = None
    mongo_uri: SecretStr = SecretStr("mongodb://mongo:27017")
    mongo_password_file: Path | None = None
    mongo_db: str = Field("peakon", min_length=1)
    mongo_timeout_seconds: float = Field(10.0, gt=0)
    cron_tz: str | None = None
    schedule_cron: str = "0 3 * * 1"
    health_grace_seconds: float = Field(3600.0, gt=0)
    alert_webhook_url: SecretStr | None = None
    run_on_start: bool = True
    full_sync: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    supercronic_path: str = "supercronic"
    lock_ttl_seconds: float = Field(900.0, gt=0)
    peakon_run_timeout: float = Field(4 * 3600.0, gt=0)  # seconds a run may take before it is stopped
    # -- the marts ---------------------------------------------------------------------------------
    peakon_build_marts: bool = True
    peakon_min_respondents: int = 5
    peakon_mart_segments: str = ",".join(DEFAULT_SEGMENTS)
    peakon_release_grace_days: int = Field(DEFAULT_GRACE_DAYS, ge=0)
    # -- the web pages (`peakon-ingest web`, peakon_ingest/web/README.md) ---------------------------
    peakon_web_host: str = "127.0.0.1"
    peakon_web_port: int = Field(8080, ge=1, le=65535)
    peakon_web_mongo_uri: SecretStr | None = None  # the pages' least-privilege user (default: MONGO_URI)
    peakon_web_secret: SecretStr | None = None  # signs session cookies (default: random per start)
    peakon_web_trusted_header: str | None = None  # a header an SSO proxy sets to the user's name

    @field_validator("mongo_uri")
    @classmethod
    def _mongo_uri(cls, value: SecretStr) -> SecretStr:
        uri = value.get_secret_value()
        problem = "expected a mongodb:// or mongodb+srv:// URI"
        if not uri.startswith(MONGO_SCHEMES):
            raise ValueError(problem)
        if uri.startswith("mongodb://"):  # an SRV URI is resolved through DNS: checked on connecting
            try:
                parse_uri(uri, validate=False)
            except (InvalidURI, ConfigurationError, ValueError):
                raise ValueError(problem) from None
        return value

    @field_validator("mongo_db")
    @classmethod
    def _db_name(cls, value: str) -> str:
        if FORBIDDEN_IN_DB_NAME & set(value):
            msg = "a MongoDB database name without spaces, dots, slashes, quotes or $"
            raise ValueError(msg)
        return value

    @field_validator("cron_tz")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value:
            zone(value)
        return value or None

    @field_validator("schedule_cron")
    @classmethod
    def _cron(cls, value: str, info: ValidationInfo) -> str:
        Schedule.parse(value, zone(info.data.get("cron_tz")))
        return value

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("https://", "http://")):
            raise ValueError("expected an http(s) URL to POST alerts to")
        return value if value is None or value.get_secret_value().strip() else None

    def schedule(self) -> Schedule:
        return Schedule.parse(self.schedule_cron, zone(self.cron_tz))

    @field_validator("peakon_min_respondents")
    @classmethod
    def _threshold(cls, value: int) -> int:
        if value < LEAST_RESPONDENTS:
            msg = f"expected at least {LEAST_RESPONDENTS} (the anonymity threshold: no smaller group is shown)"
            raise ValueError(msg)
        return value

    @field_validator("peakon_mart_segments")
    @classmethod
    def _segments(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",")]
        if not all(names) or len(set(names)) != len(names):
            msg = "expected distinct employee attribute names, comma-separated, such as 'Department,Sub-Department'"
            raise ValueError(msg)
        return value

    def mart_options(self) -> Options:
        segments = tuple(name.strip() for name in self.peakon_mart_segments.split(","))
        try:  # the tap's reading of the flag (PEAKON_PSEUDONYMIZE_IDS is the tap's setting)
            pseudonymous = bool(plugin_settings.parse(self.peakon_pseudonymize_ids or "false", {"type": "boolean"}))
        except SettingError:
            pseudonymous = True  # unreadable: the tap refuses to run, and the marts show no names
        return Options(
            min_respondents=self.peakon_min_respondents,
            segments=segments,
            grace_days=self.peakon_release_grace_days,
            pseudonymous=pseudonymous,
        )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    def app_token(self) -> str:
        """The application token, from PEAKON_APP_TOKEN or the file PEAKON_APP_TOKEN_FILE names."""
        token = secret("PEAKON_APP_TOKEN", self.peakon_app_token, self.peakon_app_token_file)
        if token is None:
            msg = "PEAKON_APP_TOKEN: required (the Peakon application token), or PEAKON_APP_TOKEN_FILE"
            raise ConfigError(msg)
        return token

    def connection_uri(self) -> str:
        """MONGO_URI, with the password from MONGO_PASSWORD_FILE (a Docker secret) when one is named."""
        uri = self.mongo_uri.get_secret_value()
        password = secret("MONGO_PASSWORD", None, self.mongo_password_file)
        if password is None:
            return uri
        scheme, rest = uri.split("://", 1)
        user, at, hosts = rest.partition("@")
        if not at or ":" in user:
            msg = "MONGO_PASSWORD_FILE: MONGO_URI must name the user, without a password (mongodb://user@host/...)"
            raise ConfigError(msg)
        return f"{scheme}://{user}:{quote_plus(password)}@{hosts}"

    def _variables(self) -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        for variable in plugin_settings.VARIABLES:
            value = getattr(self, variable.lower())
            values[variable] = value.get_secret_value() if isinstance(value, SecretStr) else value
        values["MONGO_URI"] = self.connection_uri()
        return values

    def tap_settings(self) -> dict[str, Any]:
        """tap-peakon's settings from the mapped variables (the secrets from their files too)."""
        key = secret("PEAKON_REDACT_KEY", self.peakon_redact_key, self.peakon_redact_key_file)
        variables = {**self._variables(), "PEAKON_APP_TOKEN": self.app_token(), "PEAKON_REDACT_KEY": key}
        try:
            config = plugin_settings.plugin_config(TAP, variables)
        except SettingError as err:
            raise ConfigError(str(err)) from None
        hashing = config.get("redact_mode") == "hash" and config.get("redact_fields")
        if (hashing or config.get("pseudonymize_ids")) and not key:
            msg = (
                "PEAKON_REDACT_KEY: required (or PEAKON_REDACT_KEY_FILE) with PEAKON_REDACT_MODE=hash or "
                "PEAKON_PSEUDONYMIZE_IDS=true: the secret key of the pseudonyms"
            )
            raise ConfigError(msg)
        return config

    def target_settings(self) -> dict[str, Any]:
        try:
            return plugin_settings.plugin_config(TARGET, self._variables())
        except SettingError as err:
            raise ConfigError(str(err)) from None

    @property
    def base_url(self) -> str:
        """The Peakon API root in use."""
        return self.peakon_base_url.rstrip("/")


def secret(variable: str, value: SecretStr | None, file: Path | None) -> str | None:
    """A secret from its variable, or from the file `<variable>_FILE` names (Docker secrets)."""
    if value is not None and value.get_secret_value().strip():
        return value.get_secret_value().strip()
    if file is None:
        return None
    try:
        text = file.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ConfigError(f"{variable}_FILE: cannot read {file} ({err.strerror})") from None
    if not text:
        raise ConfigError(f"{variable}_FILE: {file} is empty")
    return text


def load_settings(env_file: str | None = ".env") -> Settings:
    """Settings from the environment, or a one-line ConfigError naming the first bad variable."""
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        given = first.get("input")
        hidden = name in {"PEAKON_APP_TOKEN", "PEAKON_REDACT_KEY", "MONGO_URI", "ALERT_WEBHOOK_URL"}
        shown = "" if hidden or isinstance(given, dict) else f" (got {given!r})"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}{shown}") from None
