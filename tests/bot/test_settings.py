"""Settings from the environment: every missing or malformed value raises a one-line
ConfigError that names the variable, states the fix and never echoes a secret."""

from pathlib import Path

import pytest

from bot.settings import ConfigError, Settings, load_settings

# Every variable Settings reads, so a developer's own environment cannot leak in.
SETTINGS_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "STRIPE_API_KEY",
    "STRIPE_API_BASE",
    "STRIPE_WEBHOOK_SECRET",
    "DATABASE_URL",
    "PORT",
    "O2C_HOST",
    "O2C_PAYMENTS_CHANNEL",
    "O2C_TIMEZONE",
    "O2C_MANAGERS",
    "O2C_MANAGER_IDS",
    "O2C_CURRENCIES",
    "O2C_DEFAULT_CURRENCY",
    "O2C_QUOTE_VALID_DAYS",
    "O2C_OUTBOX_INTERVAL",
    "O2C_LOG_LEVEL",
)

VALID_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-validbottoken",
    "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
    "STRIPE_API_KEY": "sk_test_validstripekey123",
    "STRIPE_WEBHOOK_SECRET": "whsec_validwebhooksecret",
    "O2C_PAYMENTS_CHANNEL": "payments",
}

# A marker inside every bad secret. No error message may contain it.
SECRET_MARKER = "SeCrEtVaLuE9"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment holding only VALID_ENV, in a folder without a .env file."""
    monkeypatch.chdir(tmp_path)
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in VALID_ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def require_error(mode: str = "run") -> str:
    """Load settings, run `require(mode)` and return the ConfigError message."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ConfigError) as caught:
        settings.require(mode)  # type: ignore[arg-type]
    return str(caught.value)


def assert_one_line(message: str) -> None:
    assert "\n" not in message, f"message spans several lines: {message!r}"
    assert message.strip() == message


# (variable, bad value or None to unset, words the fix must contain)
BAD_VALUES = [
    ("SLACK_BOT_TOKEN", None, "OAuth & Permissions"),
    ("SLACK_BOT_TOKEN", f"xoxp-{SECRET_MARKER}-user-token", "xoxb-"),
    ("SLACK_BOT_TOKEN", "xoxb-", "too short"),
    ("SLACK_BOT_TOKEN", f"xoxb-{SECRET_MARKER} with spaces", "xoxb-"),
    ("SLACK_SIGNING_SECRET", None, "Signing Secret"),
    ("SLACK_SIGNING_SECRET", f"not-hex-{SECRET_MARKER}", "hexadecimal"),
    ("SLACK_SIGNING_SECRET", "0123456789ABCDEF0123", "hexadecimal"),
    ("STRIPE_API_KEY", None, "sk_"),
    ("STRIPE_API_KEY", f"pk_live_{SECRET_MARKER}", "sk_test_"),
    ("STRIPE_API_KEY", f"sk_prod_{SECRET_MARKER}", "sk_test_"),
    ("STRIPE_WEBHOOK_SECRET", None, "webhook endpoint"),
    ("STRIPE_WEBHOOK_SECRET", f"wh_{SECRET_MARKER}", "whsec_"),
    ("O2C_PAYMENTS_CHANNEL", None, "channel id or name"),
    ("O2C_PAYMENTS_CHANNEL", "   ", "channel id or name"),
    ("O2C_TIMEZONE", "Mars/Olympus_Mons", "Europe/Berlin"),
    ("O2C_TIMEZONE", "../etc/passwd", "Europe/Berlin"),
    ("O2C_CURRENCIES", "USD,XYZ", "ISO 4217"),
    ("O2C_CURRENCIES", " , ", "ISO 4217"),
    ("O2C_DEFAULT_CURRENCY", "JPY", "add it there"),
    ("O2C_DEFAULT_CURRENCY", "DOLLARS", "ISO 4217"),
    ("O2C_MANAGERS", "U0MGR,@morgan", "U0123ABCD"),
    ("O2C_MANAGERS", "C0123456789", "U0123ABCD"),
    ("SLACK_API_URL", "slack.com/api", "http"),
    ("STRIPE_API_BASE", "ftp://127.0.0.1", "http"),
    ("O2C_LOG_LEVEL", "LOUD", "DEBUG, INFO"),
    ("DATABASE_URL", "mysql://root@127.0.0.1/o2c", "postgresql://"),
    ("DATABASE_URL", "nonsense", "sqlite:///"),
]


@pytest.mark.parametrize(
    ("variable", "value", "fix"),
    BAD_VALUES,
    ids=[f"{variable}={value}" for variable, value, _ in BAD_VALUES],
)
def test_require_bad_value_raises_one_line(
    environment: pytest.MonkeyPatch, variable: str, value: str | None, fix: str
) -> None:
    if value is None:
        environment.delenv(variable)
    else:
        environment.setenv(variable, value)

    message = require_error("run")

    assert_one_line(message)
    assert message.startswith(variable), message
    assert fix in message
    assert SECRET_MARKER not in message


def test_require_valid_environment_passes(environment: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    for mode in ("run", "serve", "worker", "doctor", "catalog", "database"):
        settings.require(mode)  # type: ignore[arg-type]

    assert not settings.socket_mode
    assert settings.port == 3000
    assert settings.timezone == "UTC"
    assert settings.database_url == "sqlite:///o2c.db"


def test_require_socket_mode_needs_no_signing_secret(environment: pytest.MonkeyPatch) -> None:
    environment.delenv("SLACK_SIGNING_SECRET")
    environment.setenv("SLACK_APP_TOKEN", "xapp-1-A0123-4567-appleveltoken")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.socket_mode
    settings.require("run")
    settings.require("serve")
    settings.require("worker")


def test_require_socket_mode_rejects_bad_app_token(environment: pytest.MonkeyPatch) -> None:
    environment.delenv("SLACK_SIGNING_SECRET")
    environment.setenv("SLACK_APP_TOKEN", f"xoxb-{SECRET_MARKER}-not-an-app-token")

    message = require_error("run")

    assert_one_line(message)
    assert message.startswith("SLACK_APP_TOKEN"), message
    assert "xapp-" in message
    assert "connections:write" in message
    assert SECRET_MARKER not in message


def test_require_socket_mode_still_needs_stripe(environment: pytest.MonkeyPatch) -> None:
    # `o2c run` in Socket Mode still serves /stripe/webhook and creates payment links.
    environment.delenv("SLACK_SIGNING_SECRET")
    environment.setenv("SLACK_APP_TOKEN", "xapp-1-A0123-4567-appleveltoken")
    environment.delenv("STRIPE_API_KEY")

    message = require_error("run")

    assert message.startswith("STRIPE_API_KEY"), message


def test_require_database_mode_needs_no_tokens(environment: pytest.MonkeyPatch) -> None:
    for name in VALID_ENV:
        environment.delenv(name)

    Settings(_env_file=None).require("database")  # type: ignore[call-arg]


def test_require_catalog_mode_needs_only_stripe(environment: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "O2C_PAYMENTS_CHANNEL"):
        environment.delenv(name)
    Settings(_env_file=None).require("catalog")  # type: ignore[call-arg]

    environment.delenv("STRIPE_API_KEY")
    message = require_error("catalog")

    assert message.startswith("STRIPE_API_KEY"), message


def test_require_restricted_stripe_key_passes(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("STRIPE_API_KEY", "rk_live_restrictedkey123")

    Settings(_env_file=None).require("run")  # type: ignore[call-arg]


@pytest.mark.parametrize("port", ["abc", "0", "70000", "80.5"])
def test_load_settings_bad_port_raises(environment: pytest.MonkeyPatch, port: str) -> None:
    environment.setenv("PORT", port)

    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)

    assert_one_line(message)
    assert message.startswith("PORT is invalid"), message
    assert "environment" in message


def test_load_settings_reads_env_file(environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environment.delenv("O2C_PAYMENTS_CHANNEL")
    (tmp_path / ".env").write_text("O2C_PAYMENTS_CHANNEL=C0PAYMENTS\nPORT=8080\n")

    settings = load_settings()

    assert settings.payments_channel == "C0PAYMENTS"
    assert settings.port == 8080


def test_settings_lists_parse(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("O2C_MANAGERS", " U0MGR , W0LEAD,")
    environment.setenv("O2C_CURRENCIES", "usd, jpy ,KWD")
    environment.setenv("O2C_DEFAULT_CURRENCY", "jpy")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    settings.require("run")
    assert settings.manager_ids == frozenset({"U0MGR", "W0LEAD"})
    assert settings.currency_codes == frozenset({"USD", "JPY", "KWD"})


def test_settings_legacy_manager_alias(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("O2C_MANAGER_IDS", "U0MGR")

    assert Settings(_env_file=None).manager_ids == frozenset({"U0MGR"})  # type: ignore[call-arg]


def test_settings_repr_hides_secrets(environment: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    shown = f"{settings!r} {settings!s} {settings.model_dump()}"

    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "STRIPE_API_KEY"):
        assert VALID_ENV[name] not in shown, name
    assert VALID_ENV["STRIPE_WEBHOOK_SECRET"] not in shown
