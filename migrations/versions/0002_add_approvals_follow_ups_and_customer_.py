"""add approvals, follow-ups and customer credit

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 20:11:10.649730
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.columns

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "approval_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=False),
        sa.Column("quote_version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "approved",
                "rejected",
                "changes_requested",
                "credit_denied",
                "superseded",
                name="requeststatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("tiers", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("findings", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rep_note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("submitted_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("submitted_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["quote_id"],
            ["quote.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("approval_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approval_request_quote_id"), ["quote_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_approval_request_status"), ["status"], unique=False)

    op.create_table(
        "follow_up_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=False),
        sa.Column("quote_version", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "done", "closed", name="followupstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_reminder_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("done_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["quote_id"],
            ["quote.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("follow_up_task", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_up_task_owner_user_id"), ["owner_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_follow_up_task_quote_id"), ["quote_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_up_task_status"), ["status"], unique=False)

    op.create_table(
        "approval_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("quote_version", sa.Integer(), nullable=False),
        sa.Column("tier", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "approved",
                "rejected",
                "changes_requested",
                name="decision",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["approval_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "quote_version", "tier"),
    )
    with op.batch_alter_table("approval_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approval_decision_request_id"), ["request_id"], unique=False
        )

    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("payment_terms_days", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("credit_limit", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("credit_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "credit_status",
                sa.Enum("good", "hold", name="creditstatus", native_enum=False, length=24),
                nullable=False,
                server_default="good",
            )
        )


def downgrade() -> None:

    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("credit_status")
        batch_op.drop_column("credit_currency")
        batch_op.drop_column("credit_limit")
        batch_op.drop_column("payment_terms_days")

    with op.batch_alter_table("approval_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_decision_request_id"))

    op.drop_table("approval_decision")
    with op.batch_alter_table("follow_up_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_task_status"))
        batch_op.drop_index(batch_op.f("ix_follow_up_task_quote_id"))
        batch_op.drop_index(batch_op.f("ix_follow_up_task_owner_user_id"))

    op.drop_table("follow_up_task")
    with op.batch_alter_table("approval_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_request_status"))
        batch_op.drop_index(batch_op.f("ix_approval_request_quote_id"))

    op.drop_table("approval_request")
