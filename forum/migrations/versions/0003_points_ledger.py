"""points ledger: point_balance, point_escrow, point_entry

Revision ID: 7d3f0c2a9b11
Revises: e49b3b7bb1fa
Create Date: 2026-11-24 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7d3f0c2a9b11"
down_revision = "e49b3b7bb1fa"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "point_balance",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=20), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_point_balance_balance")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_point_balance_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "currency", name=op.f("pk_point_balance")),
    )
    op.create_table(
        "point_escrow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_point_escrow_amount")),
        sa.CheckConstraint(
            "status IN ('held', 'released', 'refunded')", name=op.f("ck_point_escrow_status")
        ),
        sa.ForeignKeyConstraint(
            ["payer_id"],
            ["member.id"],
            name=op.f("fk_point_escrow_payer_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["member.id"],
            name=op.f("fk_point_escrow_recipient_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_escrow")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_point_escrow_idempotency_key")),
    )
    with op.batch_alter_table("point_escrow", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_point_escrow_payer_id"), ["payer_id"], unique=False)
        batch_op.create_index("ix_point_escrow_reference", ["reference"], unique=False)

    op.create_table(
        "point_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=20), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("counterparty_id", sa.Integer(), nullable=True),
        sa.Column("escrow_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("delta <> 0", name=op.f("ck_point_entry_delta")),
        sa.CheckConstraint("balance_after >= 0", name=op.f("ck_point_entry_balance_after")),
        sa.ForeignKeyConstraint(
            ["counterparty_id"],
            ["member.id"],
            name=op.f("fk_point_entry_counterparty_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["escrow_id"],
            ["point_escrow.id"],
            name=op.f("fk_point_entry_escrow_id_point_escrow"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_point_entry_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_entry")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_point_entry_idempotency_key")),
    )
    with op.batch_alter_table("point_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_point_entry_escrow_id"), ["escrow_id"], unique=False)
        batch_op.create_index(
            "ix_point_entry_history", ["member_id", "currency", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("point_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_point_entry_history")
        batch_op.drop_index(batch_op.f("ix_point_entry_escrow_id"))

    op.drop_table("point_entry")
    with op.batch_alter_table("point_escrow", schema=None) as batch_op:
        batch_op.drop_index("ix_point_escrow_reference")
        batch_op.drop_index(batch_op.f("ix_point_escrow_payer_id"))

    op.drop_table("point_escrow")
    op.drop_table("point_balance")
