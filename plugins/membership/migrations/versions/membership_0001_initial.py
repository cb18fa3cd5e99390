"""membership plugin: tiers, subscriptions, purchases, applications, invites, clean-out

Revision ID: membership_0001
Revises:
Create Date: 2026-12-03 08:20:00

The first revision of the paid-membership plugin's Alembic branch (label ``membership``),
on top of the core's payments revision (``membership_purchase.order_id`` references
``payment_order``).
"""

import sqlalchemy as sa
from alembic import op

revision = "membership_0001"
down_revision = None
branch_labels = ("membership",)
depends_on = "b7e1c9d4f205"

TABLES = (
    "membership_purchase",
    "membership_invite_use",
    "membership_warning",
    "membership_tier_group",
    "membership_subscription",
    "membership_removal",
    "membership_invite",
    "membership_application",
    "membership_tier",
    "membership_rule",
    "membership_question",
)


def upgrade():
    op.create_table(
        "membership_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_question")),
    )
    op.create_table(
        "membership_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("notice_days", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("group_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('inactive_days', 'warnings_over')", name=op.f("ck_membership_rule_kind")
        ),
        sa.CheckConstraint(
            "threshold >= 0 AND notice_days >= 0", name=op.f("ck_membership_rule_numbers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_rule")),
    )
    op.create_table(
        "membership_tier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("perks", sa.Text(), nullable=False),
        sa.Column("perks_html", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("points_price", sa.Integer(), nullable=True),
        sa.Column("period_unit", sa.String(length=10), nullable=False),
        sa.Column("period_count", sa.Integer(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=True),
        sa.Column("seats_taken", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "period_unit IN ('day', 'month', 'year', 'lifetime')",
            name=op.f("ck_membership_tier_period_unit"),
        ),
        sa.CheckConstraint("period_count >= 1", name=op.f("ck_membership_tier_period_count")),
        sa.CheckConstraint(
            "points_price IS NULL OR points_price > 0", name=op.f("ck_membership_tier_points_price")
        ),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_membership_tier_price")),
        sa.CheckConstraint(
            "seats_taken >= 0 AND (seats IS NULL OR seats_taken <= seats)",
            name=op.f("ck_membership_tier_seats"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_tier")),
        sa.UniqueConstraint("slug", name=op.f("uq_membership_tier_slug")),
    )
    op.create_table(
        "membership_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_membership_application_status"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_membership_application_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["member.id"],
            name=op.f("fk_membership_application_reviewer_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["membership_tier.id"],
            name=op.f("fk_membership_application_tier_id_membership_tier"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_application")),
    )
    op.create_index(
        "ix_membership_application_status_created",
        "membership_application",
        ["status", "created_at"],
        unique=False,
    )
    op.create_index(
        "uq_membership_application_pending",
        "membership_application",
        ["member_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "membership_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "max_uses >= 1 AND uses >= 0 AND uses <= max_uses",
            name=op.f("ck_membership_invite_uses"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["member.id"],
            name=op.f("fk_membership_invite_created_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["membership_tier.id"],
            name=op.f("fk_membership_invite_tier_id_membership_tier"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_invite")),
        sa.UniqueConstraint("code", name=op.f("uq_membership_invite_code")),
    )
    op.create_table(
        "membership_removal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=False),
        sa.Column("restored_at", sa.DateTime(), nullable=True),
        sa.Column("restored_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["group.id"],
            name=op.f("fk_membership_removal_group_id_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_membership_removal_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["restored_by_id"],
            ["member.id"],
            name=op.f("fk_membership_removal_restored_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["membership_rule.id"],
            name=op.f("fk_membership_removal_rule_id_membership_rule"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_removal")),
    )
    op.create_index(
        op.f("ix_membership_removal_member_id"), "membership_removal", ["member_id"], unique=False
    )
    op.create_index(
        "ix_membership_removal_removed", "membership_removal", ["removed_at"], unique=False
    )
    op.create_table(
        "membership_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.Column("paid_until", sa.DateTime(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("reminded_until", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "source IN ('payment', 'points', 'invite', 'admin', 'application')",
            name=op.f("ck_membership_subscription_source"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'ended', 'refunded')",
            name=op.f("ck_membership_subscription_status"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_membership_subscription_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["membership_tier.id"],
            name=op.f("fk_membership_subscription_tier_id_membership_tier"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_subscription")),
        sa.UniqueConstraint("member_id", "tier_id", name="uq_membership_subscription_member_tier"),
    )
    op.create_index(
        op.f("ix_membership_subscription_member_id"),
        "membership_subscription",
        ["member_id"],
        unique=False,
    )
    op.create_index(
        "ix_membership_subscription_status_until",
        "membership_subscription",
        ["status", "paid_until"],
        unique=False,
    )
    op.create_table(
        "membership_tier_group",
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["group.id"],
            name=op.f("fk_membership_tier_group_group_id_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["membership_tier.id"],
            name=op.f("fk_membership_tier_group_tier_id_membership_tier"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tier_id", "group_id", name=op.f("pk_membership_tier_group")),
    )
    op.create_index(
        op.f("ix_membership_tier_group_group_id"),
        "membership_tier_group",
        ["group_id"],
        unique=False,
    )
    op.create_table(
        "membership_warning",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("warned_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'removed', 'cancelled')",
            name=op.f("ck_membership_warning_status"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_membership_warning_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["membership_rule.id"],
            name=op.f("fk_membership_warning_rule_id_membership_rule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_warning")),
    )
    op.create_index(
        "ix_membership_warning_status_due", "membership_warning", ["status", "due_at"], unique=False
    )
    op.create_index(
        "uq_membership_warning_pending",
        "membership_warning",
        ["member_id", "rule_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "membership_invite_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["membership_invite.id"],
            name=op.f("fk_membership_invite_use_invite_id_membership_invite"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_membership_invite_use_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_invite_use")),
        sa.UniqueConstraint(
            "invite_id", "member_id", name="uq_membership_invite_use_invite_member"
        ),
    )
    op.create_index(
        op.f("ix_membership_invite_use_member_id"),
        "membership_invite_use",
        ["member_id"],
        unique=False,
    )
    op.create_table(
        "membership_purchase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("points_key", sa.String(length=120), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("tier_id", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("period_from", sa.DateTime(), nullable=False),
        sa.Column("period_to", sa.DateTime(), nullable=True),
        sa.Column("refunded_cents", sa.Integer(), nullable=False),
        sa.Column("refunded", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "price_cents IS NULL OR price_cents >= 0", name=op.f("ck_membership_purchase_price")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_membership_purchase_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_order.id"],
            name=op.f("fk_membership_purchase_order_id_payment_order"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["membership_tier.id"],
            name=op.f("fk_membership_purchase_tier_id_membership_tier"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_purchase")),
        sa.UniqueConstraint("order_id", name=op.f("uq_membership_purchase_order_id")),
        sa.UniqueConstraint("points_key", name=op.f("uq_membership_purchase_points_key")),
    )
    op.create_index(
        "ix_membership_purchase_member_tier",
        "membership_purchase",
        ["member_id", "tier_id"],
        unique=False,
    )


def downgrade():
    for table in TABLES:
        op.drop_table(table)
