"""`o2c doctor`: check the Slack token and scopes, the alert channel and the Stripe key."""

from pathlib import Path

import stripe
import yaml
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import Settings
from bot.slack_delivery import DeliveryError, SlackPoster
from bot.stripe_gateway import make_client

MANIFEST = Path(__file__).resolve().parent.parent / "app.yaml"


def manifest_scopes(path: Path = MANIFEST) -> set[str]:
    """Return the bot scopes that the manifest requests."""
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    return set(manifest["oauth_config"]["scopes"]["bot"])


def run_checks(settings: Settings) -> int:
    """Print one line per check; return 0 when all pass and 1 otherwise."""
    assert settings.slack_bot_token is not None and settings.stripe_api_key is not None
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )
    failures = 0

    try:
        auth = client.auth_test()
        _report(True, f"Slack token works for bot {auth.get('user')} in team {auth.get('team')}")
        granted = set(filter(None, (auth.headers.get("x-oauth-scopes") or "").split(",")))
        missing = manifest_scopes() - granted if granted else set()
        failures += _report(
            not missing,
            "bot scopes match app.yaml"
            if not missing
            else f"bot token lacks scopes {', '.join(sorted(missing))}: reinstall the app",
        )
    except SlackApiError as error:
        failures += _report(False, f"Slack rejected the token: {error.response.get('error')}")

    channels = [("payments", settings.payments_channel)]
    if settings.deal_desk_channel:
        channels.append(("deal-desk", settings.deal_desk_channel))
    for purpose, configured in channels:
        failures += _check_channel(client, purpose, configured or "")

    try:
        make_client(
            settings.stripe_api_key.get_secret_value(), settings.stripe_api_base
        ).v1.payment_links.list({"limit": 1})
        _report(True, "Stripe key can list payment links")
    except stripe.StripeError as error:
        failures += _report(
            False, f"Stripe rejected the key: {error.user_message or error.__class__.__name__}"
        )

    return 1 if failures else 0


def _check_channel(client: WebClient, purpose: str, configured: str) -> int:
    """Check that a configured channel exists and has the bot as a member; return 1 on failure."""
    try:
        channel = SlackPoster(client).resolve_channel(configured)
        info = client.conversations_info(channel=channel)
    except (SlackApiError, DeliveryError) as error:
        return _report(False, f"{purpose} channel '{configured}' is not usable: {error}")
    member = bool(info["channel"].get("is_member"))
    suffix = "" if member else "; invite the bot with /invite"
    return _report(member, f"{purpose} channel {channel} found{suffix}")


def _report(ok: bool, text: str) -> int:
    print(("ok    " if ok else "FAIL  ") + text)
    return 0 if ok else 1
