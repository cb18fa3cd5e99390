"""payments: payment_order, payment_event, payment_refund, payment_manual, payment_provider

The payments core's tables (issue 10): orders with their CHECKs (amount > 0, refunds within
the amount, known statuses), the append-only event log whose UNIQUE (provider,
provider_event_id) makes a replayed notification a no-op, refunds, manual transfers and the
providers' settings.

Revision ID: b7e1c9d4f205
Revises: a6d2f7c3e918
Create Date: 2026-12-03 08:02:19.405698

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e1c9d4f205"
down_revision = "a6d2f7c3e918"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payment_provider",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_payment_provider")),
    )
    op.create_table(
        "payment_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("description", sa.String(length=120), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("provider_ref", sa.String(length=120), nullable=True),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("refunded_cents", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'partially_refunded', 'refunded', 'cancelled', 'expired')",
            name=op.f("ck_payment_order_status"),
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_payment_order_amount")),
        sa.CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents",
            name=op.f("ck_payment_order_refunded"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_payment_order_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_order")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_order_idempotency_key")),
        sa.UniqueConstraint("public_id", name=op.f("uq_payment_order_public_id")),
    )
    with op.batch_alter_table("payment_order", schema=None) as batch_op:
        batch_op.create_index("ix_payment_order_member", ["member_id", "created_at"], unique=False)
        batch_op.create_index("ix_payment_order_reference", ["plugin", "reference"], unique=False)
        batch_op.create_index("ix_payment_order_status", ["status", "created_at"], unique=False)

    op.create_table(
        "payment_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("provider_event_id", sa.String(length=160), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('created', 'checkout', 'paid', 'refunded', 'refund_failed', 'cancelled', 'expired', 'manual_submitted', 'manual_confirmed', 'manual_rejected', 'notification_rejected', 'duplicate', 'delivered')",
            name=op.f("ck_payment_event_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["member.id"],
            name=op.f("fk_payment_event_actor_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_order.id"],
            name=op.f("fk_payment_event_order_id_payment_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_event")),
        sa.UniqueConstraint(
            "provider", "provider_event_id", name="uq_payment_event_provider_event"
        ),
    )
    with op.batch_alter_table("payment_event", schema=None) as batch_op:
        batch_op.create_index("ix_payment_event_order", ["order_id", "id"], unique=False)

    op.create_table(
        "payment_manual",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('submitted', 'confirmed', 'rejected')",
            name=op.f("ck_payment_manual_status"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_payment_manual_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_order.id"],
            name=op.f("fk_payment_manual_order_id_payment_order"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["member.id"],
            name=op.f("fk_payment_manual_reviewer_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["upload.id"],
            name=op.f("fk_payment_manual_upload_id_upload"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_manual")),
    )
    with op.batch_alter_table("payment_manual", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_manual_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_payment_manual_status", ["status", "id"], unique=False)

    op.create_table(
        "payment_refund",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=120), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('done', 'failed', 'pending')", name=op.f("ck_payment_refund_status")
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_payment_refund_amount")),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["member.id"],
            name=op.f("fk_payment_refund_actor_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["payment_order.id"],
            name=op.f("fk_payment_refund_order_id_payment_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refund")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_refund_idempotency_key")),
    )
    with op.batch_alter_table("payment_refund", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_refund_order_id"), ["order_id"], unique=False)


def downgrade():
    with op.batch_alter_table("payment_refund", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_refund_order_id"))

    op.drop_table("payment_refund")
    with op.batch_alter_table("payment_manual", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_manual_status")
        batch_op.drop_index(batch_op.f("ix_payment_manual_order_id"))

    op.drop_table("payment_manual")
    with op.batch_alter_table("payment_event", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_event_order")

    op.drop_table("payment_event")
    with op.batch_alter_table("payment_order", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_order_status")
        batch_op.drop_index("ix_payment_order_reference")
        batch_op.drop_index("ix_payment_order_member")

    op.drop_table("payment_order")
    op.drop_table("payment_provider")
