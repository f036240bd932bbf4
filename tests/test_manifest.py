"""`app.yaml`, the Slack app manifest, against Slack's manifest schema and the code.

Field rules follow Slack's manifest schema version 1.0.0
(github.com/slackapi/manifest-schema, `schemas/manifest.schema.1.0.0.json`).
The commands in the manifest must be the commands the running Bolt app handles,
and every bot scope must be one that a Web API method called in the code needs.
"""

import re
from pathlib import Path
from typing import Any

import pytest
import slack_sdk
import yaml

from tests.conftest import O2C

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = ROOT / "app.yaml"
SOURCE_FOLDERS = ("bot", "handlers", "jobs")
EVENTS_PATH = "/slack/events"

# Bot scopes that let a bot token call each Web API method. Any one of them is enough.
# Source: the "Compatible API methods" lists at docs.slack.dev/reference/scopes.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "chat_postMessage": frozenset({"chat:write"}),
    "chat_update": frozenset({"chat:write"}),
    "chat_postEphemeral": frozenset({"chat:write"}),
    "chat_delete": frozenset({"chat:write"}),
    "conversations_open": frozenset({"im:write", "mpim:write"}),
    "conversations_history": frozenset(
        {"channels:history", "groups:history", "im:history", "mpim:history"}
    ),
    "conversations_replies": frozenset(
        {"channels:history", "groups:history", "im:history", "mpim:history"}
    ),
    "conversations_list": frozenset({"channels:read", "groups:read", "im:read", "mpim:read"}),
    "conversations_info": frozenset({"channels:read", "groups:read", "im:read", "mpim:read"}),
    "users_info": frozenset({"users:read"}),
    "usergroups_users_list": frozenset({"usergroups:read"}),
    "users_lookupByEmail": frozenset({"users:read.email"}),
    "reactions_add": frozenset({"reactions:write"}),
    "files_upload_v2": frozenset({"files:write"}),
    "auth_test": frozenset(),
    "views_open": frozenset(),
    "views_update": frozenset(),
    "views_push": frozenset(),
    "views_publish": frozenset(),
}

# Each manifest scope with the methods that use it. `commands` is needed by slash
# commands themselves, which `test_manifest_commands_match_code` covers.
SCOPE_METHODS: dict[str, tuple[str, ...]] = {
    "chat:write": ("chat_postMessage", "chat_update"),
    "im:write": ("conversations_open",),
    "channels:history": ("conversations_history", "conversations_replies"),
    "groups:history": ("conversations_history", "conversations_replies"),
    "im:history": ("conversations_history", "conversations_replies"),
    "channels:read": ("conversations_list", "conversations_info"),
    "groups:read": ("conversations_list", "conversations_info"),
    "usergroups:read": ("usergroups_users_list",),
}

_REGISTERED_COMMAND = re.compile(r"""\.command\(\s*["']([^"']+)["']""")
_REGISTERED_EVENT = re.compile(r"""\.event\(\s*["']([^"']+)["']""")
_REGISTERED_OPTIONS = re.compile(r"""\.options\(""")
_IDENTIFIER = re.compile(r"\b[a-z]+_[A-Za-z0-9_]+\b")


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))


def source_text(*folders: str) -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
    )


def manifest_commands(manifest: dict[str, Any]) -> set[str]:
    return {entry["command"] for entry in manifest["features"].get("slash_commands", [])}


def web_api_methods_in_code() -> set[str]:
    """Names in the source that are slack_sdk WebClient methods, however they are called."""
    names = set(_IDENTIFIER.findall(source_text(*SOURCE_FOLDERS)))
    return {name for name in names if callable(getattr(slack_sdk.WebClient, name, None))}


# --------------------------------------------------------------------------- schema


def test_manifest_display_information(manifest: dict[str, Any]) -> None:
    display = manifest["display_information"]

    assert 1 <= len(display["name"]) <= 35
    assert 1 <= len(display.get("description", "x")) <= 140
    assert re.fullmatch(
        r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", display.get("background_color", "#fff")
    )


def test_manifest_bot_user(manifest: dict[str, Any]) -> None:
    bot_user = manifest["features"]["bot_user"]

    assert 1 <= len(bot_user["display_name"]) <= 80
    assert isinstance(bot_user.get("always_online", False), bool)


def test_manifest_slash_commands_fields(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]

    assert 1 <= len(commands) <= 50
    for entry in commands:
        name = entry["command"]
        assert re.fullmatch(r"/[a-z0-9_-]{1,31}", name), name
        assert 1 <= len(entry["description"]) <= 2000, name
        assert 1 <= len(entry.get("usage_hint", "x")) <= 1000, name
        assert isinstance(entry.get("should_escape", False), bool), name
        assert entry["url"].startswith("https://"), name
        assert entry["url"].endswith(EVENTS_PATH), name


def test_manifest_interactivity(manifest: dict[str, Any]) -> None:
    interactivity = manifest["settings"]["interactivity"]

    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"].startswith("https://")
    assert interactivity["request_url"].endswith(EVENTS_PATH)


def test_manifest_options_url_when_code_loads_options(manifest: dict[str, Any]) -> None:
    if not _REGISTERED_OPTIONS.search(source_text("bot", "handlers")):
        pytest.skip("no options listener is registered")

    options_url = manifest["settings"]["interactivity"].get("message_menu_options_url", "")

    assert options_url.startswith("https://")
    assert options_url.endswith(EVENTS_PATH)


def test_manifest_http_mode_settings(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]

    assert settings.get("socket_mode_enabled", False) is False
    assert isinstance(settings.get("org_deploy_enabled", False), bool)
    assert isinstance(settings.get("token_rotation_enabled", False), bool)


def test_manifest_event_subscriptions_match_code(manifest: dict[str, Any]) -> None:
    in_code = set(_REGISTERED_EVENT.findall(source_text("bot", "handlers")))
    subscriptions = manifest["settings"].get("event_subscriptions", {})
    in_manifest = set(subscriptions.get("bot_events", []))

    assert in_manifest == in_code
    if in_manifest:
        assert subscriptions["request_url"].endswith(EVENTS_PATH)


# --------------------------------------------------------------------------- commands


def test_manifest_commands_match_code(manifest: dict[str, Any]) -> None:
    in_code = set(_REGISTERED_COMMAND.findall(source_text("bot", "handlers")))

    assert in_code, "no @app.command(...) found under bot/ or handlers/"
    assert manifest_commands(manifest) - in_code == set(), "in app.yaml but not in code"
    assert in_code - manifest_commands(manifest) == set(), "in code but not in app.yaml"
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]


def test_manifest_commands_answered_by_app(manifest: dict[str, Any], o2c: O2C) -> None:
    for command in sorted(manifest_commands(manifest)):
        response = o2c.slack.slash_command(command, "help")

        assert response.status_code == 200, f"{command}: {response.status_code} {response.text}"


def test_manifest_unknown_command_not_answered(o2c: O2C) -> None:
    response = o2c.slack.slash_command("/not-in-the-manifest", "help")

    assert response.status_code == 404


# --------------------------------------------------------------------------- scopes


def test_manifest_scopes_known(manifest: dict[str, Any]) -> None:
    unknown = set(manifest["oauth_config"]["scopes"]["bot"]) - set(SCOPE_METHODS) - {"commands"}

    assert unknown == set(), "add these scopes and their methods to SCOPE_METHODS"


@pytest.mark.parametrize("scope", sorted(SCOPE_METHODS))
def test_manifest_scope_needed_by_code(manifest: dict[str, Any], scope: str) -> None:
    if scope not in manifest["oauth_config"]["scopes"]["bot"]:
        pytest.skip(f"{scope} is not in app.yaml")

    used = web_api_methods_in_code() & set(SCOPE_METHODS[scope])

    assert used, f"{scope} is requested, but none of {SCOPE_METHODS[scope]} is called"


def test_manifest_code_methods_have_scopes(manifest: dict[str, Any]) -> None:
    granted = set(manifest["oauth_config"]["scopes"]["bot"])

    for method in sorted(web_api_methods_in_code()):
        assert method in METHOD_SCOPES, f"add {method} and its scopes to METHOD_SCOPES"
        needed = METHOD_SCOPES[method]
        assert not needed or needed & granted, f"{method} needs one of {sorted(needed)}"
