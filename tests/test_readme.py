"""The README's examples stay true: its policy file loads and its one-line quote parses."""

import re
from pathlib import Path

from bot.policy_config import load_policy
from models.quote_text import parse_quote_text

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_policy_example_loads(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), re.DOTALL)
    example = next(block for block in blocks if "[[approvals.tiers]]" in block)
    path = tmp_path / "policy.toml"
    path.write_text(example)

    policy = load_policy(path)

    assert [tier.name for tier in policy.tiers] == ["manager", "vp", "finance"]
    assert len(policy.rules) == 3
    assert policy.finance_users == frozenset({"U0FIN0001"})


def test_readme_one_line_quote_parses() -> None:
    line = next(
        text
        for text in README.read_text().splitlines()
        if text.startswith("/quote Acme Corp; 3 x WIDGET-1; 2 x")
    )

    form = parse_quote_text(line.removeprefix("/quote "))

    assert len(form.lines) == 2
    assert form.currency == "EUR"
