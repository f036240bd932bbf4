"""The operator's policy file (TOML, named by `O2C_CONFIG`), checked field by field at start-up.

Example::

    [approvals]
    reminder_after = "4h"      # remind approvers of a request waiting this long
    escalate_after = "24h"     # then open it to the tier's `escalates_to` tier
    dm_approvers = true

    [[approvals.tiers]]
    name = "manager"
    label = "Sales manager"
    users = ["U0123ABCD"]
    usergroups = ["S0456EFGH"]
    escalates_to = "vp"

    [[approvals.rules]]
    kind = "discount_above"    # also total_above, below_list_price, new_customer, credit
    percent = "15"
    tier = "manager"

    [finance]
    users = ["U0789IJKL"]      # may change credit limits, terms and holds
    follow_up_every = "1d"     # how often a rep is reminded of a credit follow-up
"""

import difflib
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.errors import InvalidInput
from models.money import normalize_currency, parse_amount, parse_percent
from models.policy import Policy, Rule, RuleKind, Tier

_DURATION = re.compile(r"^(\d+)\s*([mhd])$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_TIER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class PolicyFileError(Exception):
    """The policy file is unreadable or a field in it is invalid; one line per problem."""


def parse_duration(text: str) -> timedelta:
    """Parse `30m`, `4h` or `2d` into a timedelta."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(
            f"'{text}' is not a duration: write minutes, hours or days such as 30m, 4h or 2d"
        )
    amount, unit = int(match[1]), match[2]
    return {
        "m": timedelta(minutes=amount),
        "h": timedelta(hours=amount),
        "d": timedelta(days=amount),
    }[unit]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _TierFile(_Strict):
    name: str
    label: str = ""
    users: list[str] = Field(default_factory=list)
    usergroups: list[str] = Field(default_factory=list)
    escalates_to: str | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _TIER_NAME.match(value):
            raise ValueError("use lowercase letters, digits, - and _, starting with a letter")
        return value

    @field_validator("users")
    @classmethod
    def _check_users(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _USER_ID.match(value):
                raise ValueError(f"'{value}' is not a Slack user id such as U0123ABCD")
        return values

    @field_validator("usergroups")
    @classmethod
    def _check_usergroups(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _USERGROUP_ID.match(value):
                raise ValueError(f"'{value}' is not a Slack user group id such as S0123ABCD")
        return values

    @model_validator(mode="after")
    def _check_approvers(self) -> "_TierFile":
        if not self.users and not self.usergroups:
            raise ValueError(
                f"tier '{self.name}' has no users and no usergroups: list at least one Slack "
                "user id in users or one user group id in usergroups"
            )
        return self


class _RuleFile(_Strict):
    kind: RuleKind
    tier: str
    percent: str | None = None
    amounts: dict[str, str] = Field(default_factory=dict)

    @field_validator("percent", mode="before")
    @classmethod
    def _percent_as_text(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError(
                'write the percentage as a string, such as "12.5", so it is not rounded'
            )
        return str(value) if isinstance(value, int) else value

    @field_validator("amounts", mode="before")
    @classmethod
    def _amounts_as_text(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        if any(isinstance(amount, float) for amount in value.values()):
            raise ValueError(
                'write amounts as strings, such as "50000.00", so they are not rounded'
            )
        return {
            code: str(amount) if isinstance(amount, int) else amount
            for code, amount in value.items()
        }

    @model_validator(mode="after")
    def _check_thresholds(self) -> "_RuleFile":
        needs_percent = self.kind in (RuleKind.DISCOUNT_ABOVE, RuleKind.BELOW_LIST_PRICE)
        needs_amounts = self.kind == RuleKind.TOTAL_ABOVE
        if needs_percent and self.percent is None:
            raise ValueError(f'a {self.kind.value} rule needs percent, such as percent = "15"')
        if needs_amounts and not self.amounts:
            raise ValueError(
                'a total_above rule needs amounts, such as {USD = "50000", EUR = "45000"}'
            )
        # A threshold the rule kind ignores would look like it applies, so it is rejected.
        if not needs_percent and self.percent is not None:
            raise ValueError(f"a {self.kind.value} rule takes no percent: remove it")
        if not needs_amounts and self.amounts:
            raise ValueError(f"a {self.kind.value} rule takes no amounts: remove them")
        return self


class _ApprovalsFile(_Strict):
    reminder_after: str = "4h"
    escalate_after: str = "24h"
    dm_approvers: bool = True
    tiers: list[_TierFile] = Field(default_factory=list)
    rules: list[_RuleFile] = Field(default_factory=list)

    @field_validator("reminder_after", "escalate_after")
    @classmethod
    def _check_duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class _FinanceFile(_Strict):
    users: list[str] = Field(default_factory=list)
    follow_up_every: str = "1d"

    @field_validator("users")
    @classmethod
    def _check_users(cls, values: list[str]) -> list[str]:
        return _TierFile._check_users(values)

    @field_validator("follow_up_every")
    @classmethod
    def _check_duration(cls, value: str) -> str:
        # A zero interval would remind the rep again on every run of the follow-up job.
        if not parse_duration(value):
            raise ValueError(f"'{value}' is zero: set a reminder interval such as 1d")
        return value


class _PolicyFile(_Strict):
    approvals: Annotated[_ApprovalsFile, Field(default_factory=_ApprovalsFile)]
    finance: Annotated[_FinanceFile, Field(default_factory=_FinanceFile)]


def load_policy(path: Path | None) -> Policy:
    """Read and check the policy file; with no file, no quote needs approval."""
    if path is None:
        return Policy()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PolicyFileError(f"O2C_CONFIG {path}: cannot be read ({error.strerror}).") from None
    except tomllib.TOMLDecodeError as error:
        raise PolicyFileError(f"O2C_CONFIG {path}: is not valid TOML ({error}).") from None

    try:
        parsed = _PolicyFile.model_validate(raw)
    except ValidationError as error:
        raise PolicyFileError(
            "\n".join(_describe(path, problem) for problem in error.errors())
        ) from None
    return _to_policy(path, parsed)


def _describe(path: Path, problem: Any) -> str:
    location = ".".join(
        f"[{part}]" if isinstance(part, int) else str(part) for part in problem["loc"]
    )
    location = location.replace(".[", "[")
    message = _problem_message(problem).rstrip(".")
    end = "" if message.endswith("?") else "."
    return f"O2C_CONFIG {path}: {location or 'file'}: {message}{end}"


def _problem_message(problem: Any) -> str:
    """Rewrite a pydantic error in the operator's terms, for the error types a TOML file can cause."""
    kind = problem["type"]
    value = problem["input"]
    if kind == "extra_forbidden":
        return _unknown_key_message(problem["loc"])
    if kind == "missing":
        return "required key is missing"
    if kind == "enum":
        kinds = ", ".join(rule.value for rule in RuleKind)
        return f"'{value}' is not a rule kind: use one of {kinds}"
    if kind == "string_type":
        return f"{value!r} must be a quoted string"
    if kind == "list_type":
        return f"{value!r} must be a list in square brackets"
    if kind in ("bool_type", "bool_parsing"):
        return f"{value!r} must be true or false"
    if kind in ("dict_type", "model_type"):
        return f"{value!r} must be a table"
    return str(problem["msg"]).removeprefix("Value error, ")


def _unknown_key_message(loc: tuple[Any, ...]) -> str:
    """Name the unknown key and suggest the closest known key at that place in the file."""
    model: Any = _PolicyFile
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        model = get_args(annotation)[0] if get_args(annotation) else annotation
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    if close:
        return f"unknown key; did you mean {close[0]}?"
    return f"unknown key: use one of {', '.join(known)}"


def _to_policy(path: Path, parsed: _PolicyFile) -> Policy:
    approvals = parsed.approvals
    names = [tier.name for tier in approvals.tiers]
    problems: list[str] = []

    for index, name in enumerate(names):
        first = names.index(name)
        if first != index:
            problems.append(
                f"approvals.tiers[{index}].name: '{name}' is already the name of "
                f"approvals.tiers[{first}]; tier names must be unique"
            )
    for index, tier in enumerate(approvals.tiers):
        if tier.escalates_to is not None and tier.escalates_to not in names:
            problems.append(
                f"approvals.tiers[{index}].escalates_to: no tier is called '{tier.escalates_to}'"
            )

    rules: list[Rule] = []
    for index, rule in enumerate(approvals.rules):
        where = f"approvals.rules[{index}]"
        if rule.tier not in names:
            problems.append(f"{where}.tier: no tier is called '{rule.tier}'")
            continue
        try:
            rules.append(_to_rule(rule, where))
        except _FieldProblem as problem:
            problems.append(str(problem))

    if problems:
        raise PolicyFileError(
            "\n".join(f"O2C_CONFIG {path}: {problem.rstrip('.')}." for problem in problems)
        )

    return Policy(
        tiers=tuple(
            Tier(
                name=tier.name,
                label=tier.label or tier.name.replace("_", " ").capitalize(),
                users=frozenset(tier.users),
                usergroups=tuple(tier.usergroups),
                escalates_to=tier.escalates_to,
            )
            for tier in approvals.tiers
        ),
        rules=tuple(rules),
        reminder_after=parse_duration(approvals.reminder_after),
        escalate_after=parse_duration(approvals.escalate_after),
        dm_approvers=approvals.dm_approvers,
        finance_users=frozenset(parsed.finance.users),
        follow_up_every=parse_duration(parsed.finance.follow_up_every),
    )


class _FieldProblem(Exception):
    """An invalid value in a rule, with a message that starts with the field path."""


def _to_rule(rule: _RuleFile, where: str) -> Rule:
    """Convert a rule's thresholds to parts per million and minor units.

    A bad value raises _FieldProblem naming its field, such as `approvals.rules[1].percent`.
    """
    percent_ppm = 0
    if rule.percent is not None:
        try:
            percent_ppm = parse_percent(rule.percent, field="percent")
        except InvalidInput as error:
            raise _FieldProblem(f"{where}.percent: {error}") from None

    amounts: dict[str, int] = {}
    for code, text in rule.amounts.items():
        field_path = f"{where}.amounts.{code}"
        try:
            currency = normalize_currency(code)
            if currency in amounts:
                raise InvalidInput(f"{currency} is listed twice: keep one amount per currency")
            amounts[currency] = parse_amount(text, currency)
        except InvalidInput as error:
            raise _FieldProblem(f"{field_path}: {error}") from None
    return Rule(kind=rule.kind, tier=rule.tier, percent_ppm=percent_ppm, amounts=amounts)
