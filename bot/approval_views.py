"""Block Kit for approval requests, follow-up tasks and credit increase requests."""

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.views import escape, escape_message, format_money
from models.approval import Decision, RequestStatus
from models.approval_summary import ApprovalSummary, TierState
from models.money import format_percent

APPROVE_ACTION = "approval_approve"
REJECT_ACTION = "approval_reject"
CHANGES_ACTION = "approval_request_changes"
REASON_CALLBACK = "approval_reason"
FOLLOW_UP_DONE_ACTION = "follow_up_done"

_STATUS_WORDS = {
    RequestStatus.OPEN: ":hourglass_flowing_sand: Waiting for approval",
    RequestStatus.APPROVED: ":white_check_mark: Approved",
    RequestStatus.REJECTED: ":x: Rejected",
    RequestStatus.CHANGES_REQUESTED: ":pencil2: Changes requested",
    RequestStatus.CREDIT_DENIED: ":no_entry: Credit denied",
    RequestStatus.SUPERSEDED: ":arrows_counterclockwise: Replaced by a newer version",
}
_DECISION_MARKS = {
    Decision.APPROVED: ":white_check_mark:",
    Decision.REJECTED: ":x:",
    Decision.CHANGES_REQUESTED: ":pencil2:",
}


def approval_text(summary: ApprovalSummary) -> str:
    """Return the plain-text fallback of an approval request message."""
    quote = summary.quote
    return f"Approval needed: {quote.number} v{summary.version} for {escape(quote.customer_name)} ({_STATUS_WORDS[summary.status]})"


def approval_blocks(summary: ApprovalSummary) -> list[Block]:
    """Build the request message: quote, totals, rules that fired, tiers and their decisions."""
    quote = summary.quote
    total = format_money(quote.total_amount, quote.currency)
    blocks: list[Block] = [
        HeaderBlock(text=f"Approval: {quote.number} · version {summary.version}"),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*{escape(quote.customer_name)}* · *{total}*"
                f"{' per ' + quote.recurring_interval.value if quote.recurring_interval else ''}"
                f"{' · discount ' + format_percent(quote.discount_ppm) if quote.discount_ppm else ''}"
                f" · rep <@{quote.owner_user_id}>"
            )
        ),
    ]
    lines = "\n".join(
        f"• {line.quantity:,} × {escape(line.description)} @ {format_money(line.unit_amount, quote.currency)}"
        + (
            f" (list {format_money(line.list_unit_amount, quote.currency)})"
            if line.list_unit_amount and line.list_unit_amount != line.unit_amount
            else ""
        )
        for line in quote.lines
    )
    blocks.append(SectionBlock(text=MarkdownTextObject(text=lines[:2900] or "No lines")))

    rules = "\n".join(f"• *{escape(tier)}*: {escape(reason)}" for tier, reason in summary.findings)
    blocks.append(
        SectionBlock(text=MarkdownTextObject(text=f"*Why it needs approval*\n{rules}"[:2900]))
    )
    if summary.rep_note:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=f"*Rep's note*\n{escape(summary.rep_note)}"[:2900])
            )
        )

    blocks.append(DividerBlock())
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(text="\n".join(_tier_line(tier) for tier in summary.tiers))
        )
    )
    status = _STATUS_WORDS[summary.status]
    if summary.outcome_reason and summary.status != RequestStatus.OPEN:
        status += f": {escape(summary.outcome_reason)}"
    if summary.escalated and summary.status == RequestStatus.OPEN:
        status += " (escalated)"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=status[:2900])]))

    if summary.status == RequestStatus.OPEN:
        value = f"{summary.request_id}:{summary.version}"
        blocks.append(
            ActionsBlock(
                block_id=f"approval_{summary.request_id}",
                elements=[
                    ButtonElement(
                        text="Approve", action_id=APPROVE_ACTION, value=value, style="primary"
                    ),
                    ButtonElement(
                        text="Reject", action_id=REJECT_ACTION, value=value, style="danger"
                    ),
                    ButtonElement(text="Request changes", action_id=CHANGES_ACTION, value=value),
                ],
            )
        )
    return blocks


def _tier_line(tier: TierState) -> str:
    if tier.decision is None:
        return f":hourglass_flowing_sand: *{escape(tier.label)}*: waiting"
    when = (
        f"<!date^{int(tier.at.timestamp())}^{{date_short}} {{time}}|{tier.at:%Y-%m-%d %H:%M} UTC>"
        if tier.at
        else ""
    )
    line = f"{_DECISION_MARKS[tier.decision]} *{escape(tier.label)}*: {tier.decision.value.replace('_', ' ')} by <@{tier.actor}> {when}"
    if tier.reason:
        line += f" — {escape(tier.reason)}"
    return line


def reason_view(request_id: int, version: int, decision: Decision) -> View:
    """Build the modal in which a rejecting approver gives the reason."""
    title = "Reject quote" if decision == Decision.REJECTED else "Request changes"
    return View(
        type="modal",
        callback_id=REASON_CALLBACK,
        title=title,
        submit="Send",
        close="Back",
        private_metadata=f"{request_id}:{version}:{decision.value}",
        blocks=[
            InputBlock(
                block_id="reason",
                label="Reason for the rep",
                element=PlainTextInputElement(
                    action_id="value", multiline=True, min_length=3, max_length=2000
                ),
            )
        ],
    )


def follow_up_blocks(facts: dict[str, Any]) -> list[Block]:
    """Build a follow-up task message with its Mark done button."""
    prefix = ":alarm_clock: Reminder" if facts.get("reminder") else ":clipboard: New task"
    return [
        SectionBlock(
            text=MarkdownTextObject(text=f"{prefix}: {escape_message(str(facts['text']))}")
        ),
        ActionsBlock(
            block_id=f"follow_up_{facts['task_id']}",
            elements=[
                ButtonElement(
                    text="Mark done",
                    action_id=FOLLOW_UP_DONE_ACTION,
                    value=str(facts["task_id"]),
                    style="primary",
                )
            ],
        ),
    ]
