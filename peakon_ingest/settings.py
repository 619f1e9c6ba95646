"""The operator's settings: environment variables (and `.env`), each with its default."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from croniter import croniter
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the variable and what it expects."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    peakon_base_url: str = "https://pax8inc.peakon.com/api/v1"
    peakon_app_token: SecretStr | None = None
    peakon_app_token_file: Path | None = None
    peakon_company_id: int = Field(22182, gt=0)
    peakon_engagement_group: str = Field("engagement", min_length=1)
    peakon_per_page: int = Field(10000, ge=1, le=20000)
    peakon_max_requests_per_hour: int = Field(5000, ge=1)
    peakon_max_retries: int = Field(8, ge=0)
    peakon_backoff_base_seconds: float = Field(2.0, ge=0)
    peakon_max_retry_wait_seconds: float = Field(900.0, ge=0)
    http_timeout_seconds: float = Field(60.0, gt=0)
    mongo_uri: SecretStr = SecretStr("mongodb://mongo:27017")
    mongo_db: str = Field("peakon", min_length=1, pattern=r"^[^/\\. \"$]+$")
    mongo_timeout_seconds: float = Field(10.0, gt=0)
    schedule_cron: str = "0 3 * * 1"
    run_on_start: bool = True
    full_sync: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    supercronic_path: str = "supercronic"
    lock_ttl_seconds: float = Field(900.0, gt=0)
    peakon_redact_fields: str = ""
    peakon_redact_mode: Literal["remove", "hash"] = "remove"

    @field_validator("peakon_redact_fields")
    @classmethod
    def _field_names(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        if any(not name.replace("_", "").replace("-", "").isalnum() for name in names):
            msg = "expected comma-separated field names such as accountEmail,answerComment"
            raise ValueError(msg)
        return ",".join(names)

    def redact_fields(self) -> list[str]:
        return [name for name in self.peakon_redact_fields.split(",") if name]

    @field_validator("peakon_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            msg = "expected an http(s) URL such as https://<subdomain>.peakon.com/api/v1"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("schedule_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):  # noqa: PLR2004 - five cron fields
            msg = "expected a 5-field cron expression such as '0 3 * * 1'"
            raise ValueError(msg)
        return value

    @field_validator("log_level", "peakon_redact_mode", mode="before")
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


def load_settings(env_file: str | None = ".env") -> Settings:
    """Settings from the environment, or a one-line ConfigError naming the first bad variable."""
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        given = first.get("input")
        shown = "" if name in {"PEAKON_APP_TOKEN", "MONGO_URI"} or isinstance(given, dict) else f" (got {given!r})"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}{shown}") from None
