"""The deal-desk policy: which quotes need approval, and from which tiers.

A policy is a list of approval tiers (sales manager, VP, finance, ...) and
rules that each name the tier they require. A quote that breaks several
rules needs every tier that applies, in the order the tiers are listed.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from models.customer import CreditStatus
from models.money import Money, format_percent


class RuleKind(StrEnum):
    """The kinds of rule a policy can contain."""

    DISCOUNT_ABOVE = "discount_above"
    TOTAL_ABOVE = "total_above"
    BELOW_LIST_PRICE = "below_list_price"
    NEW_CUSTOMER = "new_customer"
    CREDIT = "credit"


@dataclass(frozen=True)
class Tier:
    """A group of approvers: Slack users and Slack user groups (by id).

    When a request waits on this tier longer than the escalation delay, the
    approvers of `escalates_to` may decide for it too.
    """

    name: str
    label: str
    users: frozenset[str] = frozenset()
    usergroups: tuple[str, ...] = ()
    escalates_to: str | None = None


@dataclass(frozen=True)
class Rule:
    """One condition and the tier it requires.

    `percent_ppm` is the threshold for discount and list-price rules;
    `amounts` gives the total threshold per currency, in minor units.
    """

    kind: RuleKind
    tier: str
    percent_ppm: int = 0
    amounts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """Tiers, rules and the timings of reminders, escalation and follow-ups."""

    tiers: tuple[Tier, ...] = ()
    rules: tuple[Rule, ...] = ()
    reminder_after: timedelta = timedelta(hours=4)
    escalate_after: timedelta = timedelta(hours=24)
    dm_approvers: bool = True
    finance_users: frozenset[str] = frozenset()
    follow_up_every: timedelta = timedelta(days=1)

    def tier(self, name: str) -> Tier:
        """Return the tier called `name`; raise KeyError if the policy has none."""
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise KeyError(name)

    def tier_order(self, names: set[str]) -> list[str]:
        """Return `names` in the order the policy lists its tiers."""
        return [tier.name for tier in self.tiers if tier.name in names]

    @property
    def credit_tiers(self) -> frozenset[str]:
        """Tiers that credit rules require; their rejection denies credit."""
        return frozenset(rule.tier for rule in self.rules if rule.kind == RuleKind.CREDIT)


@dataclass(frozen=True)
class LineFacts:
    description: str
    unit_amount: int
    list_unit_amount: int | None


@dataclass(frozen=True)
class CreditFacts:
    """A customer's credit position in its credit currency, before this quote."""

    status: CreditStatus
    limit: int | None
    currency: str | None
    exposure: int


@dataclass(frozen=True)
class QuoteFacts:
    """The facts of a quote that the rules check."""

    currency: str
    discount_ppm: int
    total: int
    lines: Sequence[LineFacts]
    new_customer: bool
    credit: CreditFacts


@dataclass(frozen=True)
class Finding:
    """A rule the quote breaks, the tier it requires and why, in words for approvers."""

    rule: RuleKind
    tier: str
    reason: str


def evaluate(policy: Policy, facts: QuoteFacts) -> list[Finding]:
    """Return every rule the quote breaks, ordered by tier then by rule order."""
    findings: list[Finding] = []
    for rule in policy.rules:
        reason = _check(rule, facts)
        if reason is not None:
            findings.append(Finding(rule.kind, rule.tier, reason))

    order = {tier.name: index for index, tier in enumerate(policy.tiers)}
    return sorted(findings, key=lambda finding: order.get(finding.tier, len(order)))


def required_tiers(policy: Policy, findings: Sequence[Finding]) -> list[str]:
    """Return the tiers the findings require, each once, in policy order."""
    return policy.tier_order({finding.tier for finding in findings})


def _check(rule: Rule, facts: QuoteFacts) -> str | None:
    if rule.kind == RuleKind.DISCOUNT_ABOVE and facts.discount_ppm > rule.percent_ppm:
        return f"Discount {format_percent(facts.discount_ppm)} is above {format_percent(rule.percent_ppm)}"

    if rule.kind == RuleKind.TOTAL_ABOVE:
        threshold = rule.amounts.get(facts.currency)
        if threshold is not None and facts.total > threshold:
            return f"Total {Money(facts.total, facts.currency).format()} is above {Money(threshold, facts.currency).format()}"
        return None

    if rule.kind == RuleKind.BELOW_LIST_PRICE:
        return _below_list_price(rule, facts)

    if rule.kind == RuleKind.NEW_CUSTOMER and facts.new_customer:
        return "The customer has never paid us"

    if rule.kind == RuleKind.CREDIT:
        return _credit_problem(facts)
    return None


def _below_list_price(rule: Rule, facts: QuoteFacts) -> str | None:
    """Name the lines priced below list by more than the rule's percentage."""
    offenders = []
    for line in facts.lines:
        if not line.list_unit_amount:
            continue
        cut = line.list_unit_amount - line.unit_amount
        if cut * 1_000_000 > rule.percent_ppm * line.list_unit_amount:
            cut_ppm = cut * 1_000_000 // line.list_unit_amount
            offenders.append(f"{line.description} ({format_percent(cut_ppm)} below list)")
    if not offenders:
        return None
    return f"Priced more than {format_percent(rule.percent_ppm)} below list: {', '.join(offenders)}"


def _credit_problem(facts: QuoteFacts) -> str | None:
    credit = facts.credit
    if credit.status == CreditStatus.HOLD:
        return "The customer is on credit hold"
    if credit.limit is None or credit.currency is None:
        return None
    if credit.currency != facts.currency:
        return f"The credit limit is in {credit.currency}, so a {facts.currency} quote cannot be checked against it"

    after = credit.exposure + facts.total
    if after <= credit.limit:
        return None
    return (
        f"Exposure would be {Money(after, credit.currency).format()} "
        f"(now {Money(credit.exposure, credit.currency).format()}), "
        f"over the credit limit of {Money(credit.limit, credit.currency).format()}"
    )
