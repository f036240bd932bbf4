"""The deal-desk rules on plain data: each rule at its boundary, and the tiers a quote needs."""

from dataclasses import replace

from models.customer import CreditStatus
from models.policy import (
    CreditFacts,
    Finding,
    LineFacts,
    Policy,
    QuoteFacts,
    Rule,
    RuleKind,
    Tier,
    evaluate,
    required_tiers,
)

TIERS = (
    Tier(name="manager", label="Sales manager", users=frozenset({"U0MGR"})),
    Tier(name="vp", label="VP of sales", users=frozenset({"U0VP"})),
    Tier(name="finance", label="Finance", users=frozenset({"U0FIN"})),
)

NO_CREDIT = CreditFacts(status=CreditStatus.GOOD, limit=None, currency=None, exposure=0)

# A quote inside every rule below: no discount, a small USD total, list prices, a paying customer.
PLAIN = QuoteFacts(
    currency="USD",
    discount_ppm=0,
    total=100_00,
    lines=(LineFacts(description="Seat licence", unit_amount=100_00, list_unit_amount=100_00),),
    new_customer=False,
    credit=NO_CREDIT,
)


def policy_with(*rules: Rule) -> Policy:
    return Policy(tiers=TIERS, rules=rules)


def reasons(policy: Policy, facts: QuoteFacts) -> list[str]:
    return [finding.reason for finding in evaluate(policy, facts)]


def with_credit(
    *,
    limit: int | None,
    currency: str | None = "USD",
    exposure: int = 0,
    status: CreditStatus = CreditStatus.GOOD,
    total: int = 100_00,
    quote_currency: str = "USD",
) -> QuoteFacts:
    credit = CreditFacts(status=status, limit=limit, currency=currency, exposure=exposure)
    return replace(PLAIN, credit=credit, total=total, currency=quote_currency)


DISCOUNT_15 = Rule(kind=RuleKind.DISCOUNT_ABOVE, tier="manager", percent_ppm=150_000)
DISCOUNT_30 = Rule(kind=RuleKind.DISCOUNT_ABOVE, tier="vp", percent_ppm=300_000)
TOTAL = Rule(kind=RuleKind.TOTAL_ABOVE, tier="vp", amounts={"USD": 50_000_00, "JPY": 5_000_000})
BELOW_LIST_10 = Rule(kind=RuleKind.BELOW_LIST_PRICE, tier="manager", percent_ppm=100_000)
NEW_CUSTOMER = Rule(kind=RuleKind.NEW_CUSTOMER, tier="finance")
CREDIT = Rule(kind=RuleKind.CREDIT, tier="finance")


def test_evaluate_plain_quote_finds_nothing() -> None:
    policy = policy_with(DISCOUNT_15, TOTAL, BELOW_LIST_10, NEW_CUSTOMER, CREDIT)

    assert evaluate(policy, PLAIN) == []


def test_evaluate_empty_policy_finds_nothing() -> None:
    facts = replace(PLAIN, discount_ppm=900_000, new_customer=True)

    assert evaluate(Policy(), facts) == []


def test_discount_exactly_at_threshold_passes() -> None:
    facts = replace(PLAIN, discount_ppm=150_000)

    assert evaluate(policy_with(DISCOUNT_15), facts) == []


def test_discount_just_above_threshold_fires() -> None:
    facts = replace(PLAIN, discount_ppm=150_001)

    findings = evaluate(policy_with(DISCOUNT_15), facts)

    assert findings == [
        Finding(RuleKind.DISCOUNT_ABOVE, "manager", "Discount 15.0001% is above 15%")
    ]


def test_total_above_threshold_fires() -> None:
    facts = replace(PLAIN, total=50_000_01)

    assert reasons(policy_with(TOTAL), facts) == ["Total 50,000.01 USD is above 50,000.00 USD"]


def test_total_exactly_at_threshold_passes() -> None:
    facts = replace(PLAIN, total=50_000_00)

    assert evaluate(policy_with(TOTAL), facts) == []


def test_total_uses_threshold_of_quote_currency() -> None:
    facts = replace(PLAIN, currency="JPY", total=5_000_001)

    assert reasons(policy_with(TOTAL), facts) == ["Total 5,000,001 JPY is above 5,000,000 JPY"]


def test_total_in_currency_without_threshold_passes() -> None:
    facts = replace(PLAIN, currency="EUR", total=10_000_000_00)

    assert evaluate(policy_with(TOTAL), facts) == []


def test_below_list_by_more_than_percent_fires() -> None:
    lines = (
        LineFacts(description="Seat licence", unit_amount=100_00, list_unit_amount=100_00),
        LineFacts(description="Onboarding", unit_amount=89_99, list_unit_amount=100_00),
    )
    facts = replace(PLAIN, lines=lines)

    findings = evaluate(policy_with(BELOW_LIST_10), facts)

    assert [finding.tier for finding in findings] == ["manager"]
    assert findings[0].reason == ("Priced more than 10% below list: Onboarding (10.01% below list)")


def test_below_list_exactly_at_percent_passes() -> None:
    lines = (LineFacts(description="Onboarding", unit_amount=90_00, list_unit_amount=100_00),)
    facts = replace(PLAIN, lines=lines)

    assert evaluate(policy_with(BELOW_LIST_10), facts) == []


def test_below_list_ignores_free_text_lines() -> None:
    lines = (
        LineFacts(description="Custom integration", unit_amount=1, list_unit_amount=None),
        LineFacts(description="Free sample", unit_amount=0, list_unit_amount=0),
    )
    facts = replace(PLAIN, lines=lines)

    assert evaluate(policy_with(BELOW_LIST_10), facts) == []


def test_below_list_names_every_offending_line() -> None:
    lines = (
        LineFacts(description="Seat licence", unit_amount=50_00, list_unit_amount=100_00),
        LineFacts(description="Support", unit_amount=75_00, list_unit_amount=100_00),
    )
    facts = replace(PLAIN, lines=lines)

    assert reasons(policy_with(BELOW_LIST_10), facts) == [
        "Priced more than 10% below list: Seat licence (50% below list), Support (25% below list)"
    ]


def test_new_customer_rule_fires() -> None:
    facts = replace(PLAIN, new_customer=True)

    assert evaluate(policy_with(NEW_CUSTOMER), facts) == [
        Finding(RuleKind.NEW_CUSTOMER, "finance", "The customer has never paid us")
    ]


def test_new_customer_rule_passes_paying_customer() -> None:
    assert evaluate(policy_with(NEW_CUSTOMER), PLAIN) == []


def test_credit_over_limit_fires() -> None:
    facts = with_credit(limit=1_000_00, exposure=900_00, total=100_01)

    assert reasons(policy_with(CREDIT), facts) == [
        "Exposure would be 1,000.01 USD (now 900.00 USD), over the credit limit of 1,000.00 USD"
    ]


def test_credit_exactly_at_limit_passes() -> None:
    facts = with_credit(limit=1_000_00, exposure=900_00, total=100_00)

    assert evaluate(policy_with(CREDIT), facts) == []


def test_credit_hold_without_limit_fires() -> None:
    facts = with_credit(limit=None, currency=None, status=CreditStatus.HOLD)

    assert reasons(policy_with(CREDIT), facts) == ["The customer is on credit hold"]


def test_credit_hold_within_limit_fires() -> None:
    facts = with_credit(limit=1_000_000_00, status=CreditStatus.HOLD)

    assert reasons(policy_with(CREDIT), facts) == ["The customer is on credit hold"]


def test_credit_limit_in_other_currency_fires() -> None:
    facts = with_credit(limit=1_000_000_00, currency="EUR", quote_currency="USD")

    assert reasons(policy_with(CREDIT), facts) == [
        "The credit limit is in EUR, so a USD quote cannot be checked against it"
    ]


def test_credit_without_limit_passes() -> None:
    facts = with_credit(limit=None, currency=None, total=10_000_000_00)

    assert evaluate(policy_with(CREDIT), facts) == []


def test_required_tiers_follow_policy_order() -> None:
    # Rules listed against the tier order, so the result cannot just echo rule order.
    policy = policy_with(CREDIT, DISCOUNT_30, DISCOUNT_15)
    facts = with_credit(limit=1_000_00, exposure=1_000_00, total=1_00)
    facts = replace(facts, discount_ppm=350_000)

    findings = evaluate(policy, facts)

    assert required_tiers(policy, findings) == ["manager", "vp", "finance"]
    assert [finding.tier for finding in findings] == ["manager", "vp", "finance"]
    assert findings[0].reason == "Discount 35% is above 15%"
    assert findings[1].reason == "Discount 35% is above 30%"
    assert findings[2].reason == (
        "Exposure would be 1,001.00 USD (now 1,000.00 USD), over the credit limit of 1,000.00 USD"
    )


def test_required_tiers_lists_each_tier_once() -> None:
    policy = policy_with(DISCOUNT_15, BELOW_LIST_10, NEW_CUSTOMER)
    lines = (LineFacts(description="Support", unit_amount=50_00, list_unit_amount=100_00),)
    facts = replace(PLAIN, discount_ppm=200_000, lines=lines, new_customer=True)

    findings = evaluate(policy, facts)

    assert len(findings) == 3
    assert required_tiers(policy, findings) == ["manager", "finance"]


def test_required_tiers_without_findings_empty() -> None:
    assert required_tiers(policy_with(DISCOUNT_15), []) == []


def test_evaluate_keeps_rule_order_within_tier() -> None:
    policy = policy_with(BELOW_LIST_10, DISCOUNT_15)
    lines = (LineFacts(description="Support", unit_amount=50_00, list_unit_amount=100_00),)
    facts = replace(PLAIN, discount_ppm=200_000, lines=lines)

    kinds = [finding.rule for finding in evaluate(policy, facts)]

    assert kinds == [RuleKind.BELOW_LIST_PRICE, RuleKind.DISCOUNT_ABOVE]


def test_credit_tiers_lists_credit_rule_tiers() -> None:
    policy = policy_with(DISCOUNT_15, CREDIT)

    assert policy.credit_tiers == frozenset({"finance"})
