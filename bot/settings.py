"""Settings from the environment (or a `.env` file), checked at start-up.

Slack's and Stripe's variables keep the names their own tools use; the app's
own settings carry the `O2C_` prefix. `require()` turns the first missing or
malformed value into a `ConfigError` whose one line names the variable and
how to fix it.
"""

import re
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.policy_config import PolicyFileError, load_policy
from models.errors import InvalidInput
from models.money import normalize_currency
from models.policy import Policy
from models.quote_input import QuoteDefaults

Mode = Literal["run", "serve", "worker", "doctor", "catalog", "database"]

_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SIGNING_SECRET = re.compile(r"^[0-9a-f]{16,}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


class Settings(BaseSettings):
    """Every setting the process reads, with its environment variable name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    stripe_api_key: SecretStr | None = Field(default=None, validation_alias="STRIPE_API_KEY")
    stripe_api_base: str = Field(
        default="https://api.stripe.com", validation_alias="STRIPE_API_BASE"
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="STRIPE_WEBHOOK_SECRET"
    )
    database_url: str = Field(default="sqlite:///o2c.db", validation_alias="DATABASE_URL")
    port: int = Field(default=3000, ge=1, le=65535, validation_alias="PORT")
    host: str = Field(default="0.0.0.0", validation_alias="O2C_HOST")  # noqa: S104 - a server listens on all interfaces unless told otherwise
    payments_channel: str | None = Field(default=None, validation_alias="O2C_PAYMENTS_CHANNEL")
    deal_desk_channel: str | None = Field(default=None, validation_alias="O2C_DEAL_DESK_CHANNEL")
    config_path: Path | None = Field(default=None, validation_alias="O2C_CONFIG")
    timezone: str = Field(default="UTC", validation_alias="O2C_TIMEZONE")
    managers: str = Field(
        default="", validation_alias=AliasChoices("O2C_MANAGERS", "O2C_MANAGER_IDS")
    )
    currencies: str = Field(default="USD,EUR,GBP", validation_alias="O2C_CURRENCIES")
    default_currency: str = Field(default="USD", validation_alias="O2C_DEFAULT_CURRENCY")
    quote_valid_days: int = Field(default=30, ge=1, le=365, validation_alias="O2C_QUOTE_VALID_DAYS")
    outbox_interval_seconds: float = Field(
        default=2.0, gt=0, le=300, validation_alias="O2C_OUTBOX_INTERVAL"
    )
    log_level: str = Field(default="INFO", validation_alias="O2C_LOG_LEVEL")

    @property
    def socket_mode(self) -> bool:
        """True when an app-level token is set, so Slack is reached over Socket Mode."""
        return self.slack_app_token is not None and bool(self.slack_app_token.get_secret_value())

    @property
    def manager_ids(self) -> frozenset[str]:
        """Slack user ids allowed to act on every quote."""
        return frozenset(part.strip() for part in self.managers.split(",") if part.strip())

    @property
    def currency_codes(self) -> frozenset[str]:
        """ISO 4217 codes enabled for quotes."""
        return frozenset(
            normalize_currency(part) for part in self.currencies.split(",") if part.strip()
        )

    @cached_property
    def policy(self) -> Policy:
        """The approval and credit policy from the O2C_CONFIG file, or an empty one."""
        try:
            return load_policy(self.config_path)
        except PolicyFileError as error:
            raise ConfigError(str(error)) from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, now: datetime) -> date:
        """Return the company's calendar date at the instant `now`."""
        return now.astimezone(self.zone).date()

    def quote_defaults(self, now: datetime) -> QuoteDefaults:
        return QuoteDefaults(
            currency=normalize_currency(self.default_currency),
            currencies=self.currency_codes,
            validity_days=self.quote_valid_days,
            today=self.today(now),
        )

    def require(self, mode: Mode) -> None:
        """Raise ConfigError for the first setting that `mode` needs and lacks or cannot use."""
        needs_slack = mode in ("run", "serve", "worker", "doctor")
        if needs_slack:
            _check_token(
                self.slack_bot_token,
                "SLACK_BOT_TOKEN",
                "xoxb-",
                "the Bot User OAuth Token on your Slack app's OAuth & Permissions page",
            )
        if self.socket_mode:
            _check_token(
                self.slack_app_token,
                "SLACK_APP_TOKEN",
                "xapp-",
                "an app-level token with the connections:write scope (Basic Information page)",
            )
        elif mode in ("run", "serve", "doctor"):
            _check_signing_secret(self.slack_signing_secret)
        if mode in ("run", "serve", "worker", "doctor", "catalog"):
            _check_stripe_key(self.stripe_api_key)
        if mode in ("run", "serve", "doctor"):
            _check_token(
                self.stripe_webhook_secret,
                "STRIPE_WEBHOOK_SECRET",
                "whsec_",
                "the signing secret of your Stripe webhook endpoint for /stripe/webhook",
            )
        if needs_slack and not (self.payments_channel or "").strip():
            raise ConfigError(
                "O2C_PAYMENTS_CHANNEL is missing: set it to the channel id or name for payment alerts, such as C0123456789 or payments."
            )

        policy = self.policy
        if needs_slack and policy.tiers and not (self.deal_desk_channel or "").strip():
            raise ConfigError(
                "O2C_DEAL_DESK_CHANNEL is missing: set it to the channel id or name where approval requests go, because O2C_CONFIG defines approval tiers."
            )

        _check_url(self.slack_api_url, "SLACK_API_URL")
        _check_database_url(self.database_url)
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(
                f"O2C_LOG_LEVEL '{self.log_level}' is not a logging level: use DEBUG, INFO, WARNING or ERROR."
            )
        _check_url(self.stripe_api_base, "STRIPE_API_BASE")
        self._check_company_settings()

    def _check_company_settings(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"O2C_TIMEZONE '{self.timezone}' is not an IANA time zone: use a name such as Europe/Berlin."
            ) from None

        try:
            codes = self.currency_codes
        except InvalidInput as error:
            raise ConfigError(f"O2C_CURRENCIES is invalid: {error}") from None
        try:
            default = normalize_currency(self.default_currency)
        except InvalidInput as error:
            raise ConfigError(f"O2C_DEFAULT_CURRENCY is invalid: {error}") from None
        if not codes:
            raise ConfigError(
                "O2C_CURRENCIES is empty: list the ISO 4217 codes quotes may use, such as USD,EUR."
            )
        if default not in codes:
            raise ConfigError(
                f"O2C_DEFAULT_CURRENCY {default} is not in O2C_CURRENCIES ({','.join(sorted(codes))}): add it there."
            )

        for user_id in self.manager_ids:
            if not _SLACK_USER_ID.match(user_id):
                raise ConfigError(
                    f"O2C_MANAGERS has '{user_id}', which is not a Slack user id: list ids such as U0123ABCD, separated by commas."
                )


def load_settings() -> Settings:
    """Read settings from the environment, turning a type error into a ConfigError."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        variable = str(first["loc"][0]) if first["loc"] else "a setting"
        raise ConfigError(
            f"{variable} is invalid: {first['msg']}; correct it in the environment or the .env file."
        ) from None


def _check_token(value: SecretStr | None, name: str, prefix: str, where: str) -> None:
    secret = value.get_secret_value().strip() if value else ""
    if not secret:
        raise ConfigError(f"{name} is missing: set it to {where}.")
    if not secret.startswith(prefix) or any(character.isspace() for character in secret):
        raise ConfigError(
            f"{name} is malformed: it must start with '{prefix}' and contain no spaces; copy {where} again."
        )
    if len(secret) <= len(prefix) + 4:
        raise ConfigError(
            f"{name} is malformed: it is too short to be a real value; copy {where} again."
        )


def _check_database_url(value: str) -> None:
    if not re.match(r"^(sqlite|postgresql|postgres)(\+\w+)?://", value):
        raise ConfigError(
            f"DATABASE_URL '{value.split('@')[-1]}' is not supported: use sqlite:///path/o2c.db "
            "or postgresql://user@host:5432/database."
        )


def _check_signing_secret(value: SecretStr | None) -> None:
    secret = value.get_secret_value().strip() if value else ""
    where = "the Signing Secret on your Slack app's Basic Information page (or set SLACK_APP_TOKEN for Socket Mode)"
    if not secret:
        raise ConfigError(f"SLACK_SIGNING_SECRET is missing: set it to {where}.")
    if not _SIGNING_SECRET.match(secret):
        raise ConfigError(
            f"SLACK_SIGNING_SECRET is malformed: it must be lowercase hexadecimal; copy {where} again."
        )


def _check_stripe_key(value: SecretStr | None) -> None:
    key = value.get_secret_value().strip() if value else ""
    where = (
        "a secret key (sk_...) or restricted key (rk_...) from the Stripe Dashboard's API keys page"
    )
    if not key:
        raise ConfigError(f"STRIPE_API_KEY is missing: set it to {where}.")
    if not re.match(r"^(sk|rk)_(test|live)_[A-Za-z0-9]+$", key):
        raise ConfigError(
            f"STRIPE_API_KEY is malformed: it must look like sk_test_... or rk_live_...; copy {where} again."
        )


def _check_url(value: str, name: str) -> None:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ConfigError(f"{name} '{value}' is not an http(s) URL.")
