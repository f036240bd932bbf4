"""The operator's policy file: a valid file becomes a Policy, and every bad field raises a
PolicyFileError that names the file, the field path and the problem."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.policy_config import PolicyFileError, load_policy
from bot.settings import ConfigError, Settings
from models.policy import Policy, Rule, RuleKind, Tier

VALID_POLICY = """
[approvals]
reminder_after = "30m"
escalate_after = "4h"
dm_approvers = false

[[approvals.tiers]]
name = "manager"
label = "Sales manager"
users = ["U0123ABCD", "W0456EFGH"]
usergroups = ["S0456EFGH"]
escalates_to = "vp"

[[approvals.tiers]]
name = "vp"
usergroups = ["S0999VPVP"]

[[approvals.tiers]]
name = "deal_desk"
users = ["U0DESK"]

[[approvals.rules]]
kind = "discount_above"
percent = "15"
tier = "manager"

[[approvals.rules]]
kind = "below_list_price"
percent = 12
tier = "manager"

[[approvals.rules]]
kind = "total_above"
amounts = {USD = "50000", JPY = "50000", eur = 45000, KWD = "1.5"}
tier = "vp"

[[approvals.rules]]
kind = "new_customer"
tier = "deal_desk"

[[approvals.rules]]
kind = "credit"
tier = "deal_desk"

[finance]
users = ["U0789IJKL"]
follow_up_every = "2d"
"""

# A policy file with one valid tier. The bad-file cases below add the field under test.
ONE_TIER = """
[[approvals.tiers]]
name = "manager"
users = ["U0MGR"]
"""

# Valid values for every setting `require("run")` checks, apart from the deal-desk channel.
RUN_SETTINGS: dict[str, Any] = {
    "slack_bot_token": "xoxb-test-standin",
    "slack_signing_secret": "8f742231b10e8888abcd990000111185",
    "stripe_api_key": "sk_test_x1",
    "stripe_webhook_secret": "whsec_test_standin",
    "payments_channel": "payments",
}


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "o2c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def policy_error(tmp_path: Path, text: str) -> str:
    """Load `text` as a policy file and return the PolicyFileError message."""
    with pytest.raises(PolicyFileError) as caught:
        load_policy(write_policy(tmp_path, text))
    return str(caught.value)


def rule(body: str) -> str:
    """A policy with ONE_TIER and one rule made of `body`."""
    return f'{ONE_TIER}\n[[approvals.rules]]\ntier = "manager"\n{body}\n'


def test_load_policy_without_file_is_empty() -> None:
    assert load_policy(None) == Policy()


def test_load_policy_empty_file_is_empty(tmp_path: Path) -> None:
    assert load_policy(write_policy(tmp_path, "")) == Policy()


def test_load_policy_reads_full_file(tmp_path: Path) -> None:
    policy = load_policy(write_policy(tmp_path, VALID_POLICY))

    assert policy.tiers == (
        Tier(
            name="manager",
            label="Sales manager",
            users=frozenset({"U0123ABCD", "W0456EFGH"}),
            usergroups=("S0456EFGH",),
            escalates_to="vp",
        ),
        Tier(name="vp", label="Vp", usergroups=("S0999VPVP",)),
        Tier(name="deal_desk", label="Deal desk", users=frozenset({"U0DESK"})),
    )
    assert policy.rules == (
        Rule(kind=RuleKind.DISCOUNT_ABOVE, tier="manager", percent_ppm=150_000),
        Rule(kind=RuleKind.BELOW_LIST_PRICE, tier="manager", percent_ppm=120_000),
        Rule(
            kind=RuleKind.TOTAL_ABOVE,
            tier="vp",
            amounts={"USD": 5_000_000, "JPY": 50_000, "EUR": 4_500_000, "KWD": 1_500},
        ),
        Rule(kind=RuleKind.NEW_CUSTOMER, tier="deal_desk"),
        Rule(kind=RuleKind.CREDIT, tier="deal_desk"),
    )
    assert policy.reminder_after == timedelta(minutes=30)
    assert policy.escalate_after == timedelta(hours=4)
    assert policy.dm_approvers is False
    assert policy.finance_users == frozenset({"U0789IJKL"})
    assert policy.follow_up_every == timedelta(days=2)


def test_load_policy_defaults_timings(tmp_path: Path) -> None:
    policy = load_policy(write_policy(tmp_path, ONE_TIER))

    assert policy.reminder_after == timedelta(hours=4)
    assert policy.escalate_after == timedelta(hours=24)
    assert policy.dm_approvers is True
    assert policy.follow_up_every == timedelta(days=1)
    assert policy.finance_users == frozenset()


def test_load_policy_keeps_fractional_percent(tmp_path: Path) -> None:
    policy = load_policy(write_policy(tmp_path, rule('kind = "discount_above"\npercent = "12.5"')))

    assert policy.rules[0].percent_ppm == 125_000


BAD_FILES = [
    pytest.param(
        rule('kind = "discount_abov"\npercent = "15"'),
        "approvals.rules[0].kind",
        "'discount_abov' is not a rule kind: use one of discount_above, total_above, "
        "below_list_price, new_customer, credit",
        id="unknown-rule-kind",
    ),
    pytest.param(
        ONE_TIER + '\n[[approvals.rules]]\nkind = "new_customer"\ntier = "manager"\n'
        '\n[[approvals.rules]]\nkind = "credit"\ntier = "vp"\n',
        "approvals.rules[1].tier",
        "no tier is called 'vp'",
        id="rule-names-unknown-tier",
    ),
    pytest.param(
        '[[approvals.tiers]]\nname = "manager"\nusers = []\n',
        "approvals.tiers[0]",
        "tier 'manager' has no users and no usergroups",
        id="tier-without-approvers",
    ),
    pytest.param(
        '[[approvals.tiers]]\nname = "manager"\nusers = ["U0MGR", "bob"]\n',
        "approvals.tiers[0].users",
        "'bob' is not a Slack user id such as U0123ABCD",
        id="bad-user-id",
    ),
    pytest.param(
        '[[approvals.tiers]]\nname = "manager"\nusergroups = ["U0MGR"]\n',
        "approvals.tiers[0].usergroups",
        "'U0MGR' is not a Slack user group id such as S0123ABCD",
        id="bad-usergroup-id",
    ),
    pytest.param(
        ONE_TIER + 'escalates_to = "ceo"\n',
        "approvals.tiers[0].escalates_to",
        "no tier is called 'ceo'",
        id="escalates-to-unknown-tier",
    ),
    pytest.param(
        ONE_TIER + ONE_TIER,
        "approvals.tiers[1].name",
        "'manager' is already the name of approvals.tiers[0]",
        id="duplicate-tier-names",
    ),
    pytest.param(
        '[[approvals.tiers]]\nname = "Sales Manager"\nusers = ["U0MGR"]\n',
        "approvals.tiers[0].name",
        "use lowercase letters, digits, - and _, starting with a letter",
        id="bad-tier-name",
    ),
    pytest.param(
        '[[approvals.tiers]]\nusers = ["U0MGR"]\n',
        "approvals.tiers[0].name",
        "required key is missing",
        id="tier-without-name",
    ),
    pytest.param(
        rule('kind = "discount_above"\npercent = 12.5'),
        "approvals.rules[0].percent",
        'write the percentage as a string, such as "12.5"',
        id="float-percent",
    ),
    pytest.param(
        rule('kind = "total_above"\namounts = {USD = 50000.0}'),
        "approvals.rules[0].amounts",
        'write amounts as strings, such as "50000.00"',
        id="float-amount",
    ),
    pytest.param(
        rule('kind = "total_above"\namounts = {USD = "50000", XYZ = "100"}'),
        "approvals.rules[0].amounts.XYZ",
        "Unknown currency 'XYZ'",
        id="unknown-currency",
    ),
    pytest.param(
        rule('kind = "total_above"\namounts = {JPY = "50000.5"}'),
        "approvals.rules[0].amounts.JPY",
        "JPY takes no decimals",
        id="amount-with-too-many-decimals",
    ),
    pytest.param(
        rule('kind = "total_above"\namounts = {usd = "1", USD = "2"}'),
        "approvals.rules[0].amounts.USD",
        "USD is listed twice",
        id="currency-listed-twice",
    ),
    pytest.param(
        rule('kind = "discount_above"\npercent = "150"'),
        "approvals.rules[0].percent",
        "percent '150' is outside 0 to 100 percent",
        id="percent-above-100",
    ),
    pytest.param(
        rule('kind = "below_list_price"'),
        "approvals.rules[0]",
        "a below_list_price rule needs percent",
        id="list-price-rule-without-percent",
    ),
    pytest.param(
        rule('kind = "discount_above"'),
        "approvals.rules[0]",
        "a discount_above rule needs percent",
        id="discount-rule-without-percent",
    ),
    pytest.param(
        rule('kind = "total_above"'),
        "approvals.rules[0]",
        "a total_above rule needs amounts",
        id="total-rule-without-amounts",
    ),
    pytest.param(
        rule('kind = "total_above"\npercent = "20"\namounts = {USD = "1000"}'),
        "approvals.rules[0]",
        "a total_above rule takes no percent",
        id="total-rule-with-percent",
    ),
    pytest.param(
        rule('kind = "new_customer"\namounts = {USD = "1000"}'),
        "approvals.rules[0]",
        "a new_customer rule takes no amounts",
        id="new-customer-rule-with-amounts",
    ),
    pytest.param(
        '[approvals]\nreminder_afer = "4h"\n',
        "approvals.reminder_afer",
        "unknown key; did you mean reminder_after?",
        id="misspelt-key",
    ),
    pytest.param(
        ONE_TIER + 'colour = "blue"\n',
        "approvals.tiers[0].colour",
        "unknown key: use one of name, label, users, usergroups, escalates_to",
        id="unknown-tier-key",
    ),
    pytest.param(
        '[approvals]\nreminder_after = "4 hours"\n',
        "approvals.reminder_after",
        "'4 hours' is not a duration: write minutes, hours or days such as 30m, 4h or 2d",
        id="bad-duration",
    ),
    pytest.param(
        "[approvals]\nescalate_after = 24\n",
        "approvals.escalate_after",
        "24 must be a quoted string",
        id="duration-without-unit",
    ),
    pytest.param(
        '[finance]\nfollow_up_every = "0d"\n',
        "finance.follow_up_every",
        "'0d' is zero",
        id="zero-follow-up-interval",
    ),
    pytest.param(
        '[finance]\nusers = ["alice"]\n',
        "finance.users",
        "'alice' is not a Slack user id",
        id="bad-finance-user-id",
    ),
]


@pytest.mark.parametrize(("text", "field_path", "problem"), BAD_FILES)
def test_load_policy_bad_field_named(
    tmp_path: Path, text: str, field_path: str, problem: str
) -> None:
    message = policy_error(tmp_path, text)

    assert message.startswith(f"O2C_CONFIG {tmp_path / 'o2c.toml'}: {field_path}: ")
    assert problem in message
    assert "\n" not in message


def test_load_policy_lists_every_bad_field(tmp_path: Path) -> None:
    text = '[[approvals.tiers]]\nname = "manager"\nusers = ["bob"]\nusergroups = ["nope"]\n'

    lines = policy_error(tmp_path, text).splitlines()

    assert len(lines) == 2
    assert "approvals.tiers[0].users: 'bob'" in lines[0]
    assert "approvals.tiers[0].usergroups: 'nope'" in lines[1]


def test_load_policy_invalid_toml(tmp_path: Path) -> None:
    message = policy_error(tmp_path, "[approvals\n")

    assert message.startswith(f"O2C_CONFIG {tmp_path / 'o2c.toml'}: is not valid TOML (")
    assert "line 1" in message


def test_load_policy_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"

    with pytest.raises(PolicyFileError) as caught:
        load_policy(path)

    assert str(caught.value) == f"O2C_CONFIG {path}: cannot be read (No such file or directory)."


def test_settings_require_deal_desk_channel_with_tiers(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None, config_path=write_policy(tmp_path, ONE_TIER), **RUN_SETTINGS
    )  # type: ignore[call-arg]

    with pytest.raises(ConfigError) as caught:
        settings.require("run")

    assert str(caught.value).startswith("O2C_DEAL_DESK_CHANNEL is missing")


def test_settings_accept_tiers_with_channel(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        config_path=write_policy(tmp_path, ONE_TIER),
        deal_desk_channel="deal-desk",
        **RUN_SETTINGS,
    )

    settings.require("run")

    assert settings.policy.tiers[0].name == "manager"


def test_settings_without_tiers_need_no_channel(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, config_path=None, **RUN_SETTINGS)  # type: ignore[call-arg]

    settings.require("run")

    assert settings.policy == Policy()


def test_settings_bad_policy_raises_config_error(tmp_path: Path) -> None:
    path = write_policy(tmp_path, rule('kind = "discount_above"\npercent = "150"'))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, config_path=path, deal_desk_channel="deal-desk", **RUN_SETTINGS
    )

    with pytest.raises(ConfigError) as caught:
        settings.require("run")

    assert "approvals.rules[0].percent" in str(caught.value)
    assert str(path) in str(caught.value)
