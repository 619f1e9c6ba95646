"""The operator's settings: environment variables (and `.env`).

Variables that configure a plugin are kept as text here and mapped onto the plugin's setting by
`plugin_settings.TABLE`: type, default and bounds are the plugin's. The others belong to the
operator and are defined below with their defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from croniter import croniter
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.errors import ConfigurationError, InvalidURI
from pymongo.uri_parser import parse_uri

from peakon_ingest import plugin_settings
from peakon_ingest.plugin_settings import TAP, TARGET, SettingError

MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")
FORBIDDEN_IN_DB_NAME = set('/\\. "$')


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the variable and what it expects."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # -- mapped onto tap-peakon's settings (plugin_settings.TABLE); the tap's defaults apply ------
    peakon_app_token: SecretStr | None = None
    peakon_base_url: str | None = None
    peakon_company_id: str | None = None
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
    # -- the operator's own (MONGO_URI and MONGO_DB are also mapped onto the target's settings) ----
    peakon_app_token_file: Path | None = None
    mongo_uri: SecretStr = SecretStr("mongodb://mongo:27017")
    mongo_db: str = Field("peakon", min_length=1)
    mongo_timeout_seconds: float = Field(10.0, gt=0)
    schedule_cron: str = "0 3 * * 1"
    run_on_start: bool = True
    full_sync: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    supercronic_path: str = "supercronic"
    lock_ttl_seconds: float = Field(900.0, gt=0)

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

    @field_validator("schedule_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):  # noqa: PLR2004 - five cron fields
            msg = "expected a 5-field cron expression such as '0 3 * * 1'"
            raise ValueError(msg)
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    def app_token(self) -> str:
        """The application token, from PEAKON_APP_TOKEN or the file PEAKON_APP_TOKEN_FILE names."""
        if self.peakon_app_token is not None and self.peakon_app_token.get_secret_value().strip():
            return self.peakon_app_token.get_secret_value().strip()
        if self.peakon_app_token_file is not None:
            try:
                token = self.peakon_app_token_file.read_text(encoding="utf-8").strip()
            except OSError as err:
                msg = f"PEAKON_APP_TOKEN_FILE: cannot read {self.peakon_app_token_file} ({err.strerror})"
                raise ConfigError(msg) from None
            if token:
                return token
            msg = f"PEAKON_APP_TOKEN_FILE: {self.peakon_app_token_file} is empty"
            raise ConfigError(msg)
        msg = "PEAKON_APP_TOKEN: required (the Peakon application token), or PEAKON_APP_TOKEN_FILE"
        raise ConfigError(msg)

    def _variables(self) -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        for variable in plugin_settings.VARIABLES:
            value = getattr(self, variable.lower())
            values[variable] = value.get_secret_value() if isinstance(value, SecretStr) else value
        return values

    def tap_settings(self) -> dict[str, Any]:
        """tap-peakon's settings from the mapped variables (the token from its file too)."""
        try:
            return plugin_settings.plugin_config(TAP, {**self._variables(), "PEAKON_APP_TOKEN": self.app_token()})
        except SettingError as err:
            raise ConfigError(str(err)) from None

    def target_settings(self) -> dict[str, Any]:
        try:
            return plugin_settings.plugin_config(TARGET, self._variables())
        except SettingError as err:
            raise ConfigError(str(err)) from None

    @property
    def base_url(self) -> str:
        """The Peakon API root in use: PEAKON_BASE_URL, else the tap's default."""
        value = self.peakon_base_url or plugin_settings.default(TAP, "PEAKON_BASE_URL")
        return str(value).rstrip("/")


def load_settings(env_file: str | None = ".env") -> Settings:
    """Settings from the environment, or a one-line ConfigError naming the first bad variable."""
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        given = first.get("input")
        secret = name in {"PEAKON_APP_TOKEN", "MONGO_URI"}
        shown = "" if secret or isinstance(given, dict) else f" (got {given!r})"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}{shown}") from None
