"""groupbuy plugin: campaigns, price tiers, pickup points, photos, orders

Revision ID: groupbuy_0001
Revises:
Create Date: 2026-12-03 13:07:50

The first revision of the group-buy plugin's Alembic branch (label ``groupbuy``), on top of
the core's payments revision (orders are paid through the payments core). The partial
unique index ``uq_groupbuy_order_live`` (one reserved or paid order per member and
campaign) is partial on both SQLite and PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

revision = "groupbuy_0001"
down_revision = None
branch_labels = ("groupbuy",)
depends_on = "b7e1c9d4f205"


def upgrade():
    op.create_table(
        "groupbuy_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("board_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("leader_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("original_price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("min_participants", sa.Integer(), nullable=False),
        sa.Column("stock_total", sa.Integer(), nullable=False),
        sa.Column("stock_left", sa.Integer(), nullable=False),
        sa.Column("per_member_limit", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(), nullable=False),
        sa.Column("pickup", sa.Boolean(), nullable=False),
        sa.Column("delivery", sa.Boolean(), nullable=False),
        sa.Column("members_only_groups", sa.String(length=200), nullable=False),
        sa.Column("early_access_groups", sa.String(length=200), nullable=False),
        sa.Column("early_access_until", sa.DateTime(), nullable=True),
        sa.Column("commission_bp", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("quantity_paid", sa.Integer(), nullable=False),
        sa.Column("final_price_cents", sa.Integer(), nullable=True),
        sa.Column("joined_ever", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=True),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'succeeded', 'failed', 'fulfilled', 'cancelled')",
            name=op.f("ck_groupbuy_campaign_status"),
        ),
        sa.CheckConstraint(
            "commission_bp >= 0 AND commission_bp <= 10000",
            name=op.f("ck_groupbuy_campaign_commission"),
        ),
        sa.CheckConstraint(
            "min_participants >= 1", name=op.f("ck_groupbuy_campaign_min_participants")
        ),
        sa.CheckConstraint(
            "original_price_cents >= 0", name=op.f("ck_groupbuy_campaign_original_price")
        ),
        sa.CheckConstraint(
            "per_member_limit >= 1", name=op.f("ck_groupbuy_campaign_per_member_limit")
        ),
        sa.CheckConstraint(
            "stock_left <= stock_total", name=op.f("ck_groupbuy_campaign_stock_left_max")
        ),
        sa.CheckConstraint("stock_left >= 0", name=op.f("ck_groupbuy_campaign_stock_left_min")),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["board.id"],
            name=op.f("fk_groupbuy_campaign_board_id_board"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["member.id"], name=op.f("fk_groupbuy_campaign_leader_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_groupbuy_campaign_thread_id_thread"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groupbuy_campaign")),
        sa.UniqueConstraint("thread_id", name=op.f("uq_groupbuy_campaign_thread_id")),
    )
    with op.batch_alter_table("groupbuy_campaign", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_groupbuy_campaign_board_id"), ["board_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_groupbuy_campaign_leader_id"), ["leader_id"], unique=False
        )
        batch_op.create_index(
            "ix_groupbuy_campaign_status_deadline", ["status", "deadline"], unique=False
        )

    op.create_table(
        "groupbuy_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("thumb_url", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["groupbuy_campaign.id"],
            name=op.f("fk_groupbuy_photo_campaign_id_groupbuy_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groupbuy_photo")),
    )
    with op.batch_alter_table("groupbuy_photo", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_groupbuy_photo_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "groupbuy_pickup_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["groupbuy_campaign.id"],
            name=op.f("fk_groupbuy_pickup_point_campaign_id_groupbuy_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groupbuy_pickup_point")),
    )
    with op.batch_alter_table("groupbuy_pickup_point", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_groupbuy_pickup_point_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "groupbuy_price_tier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("min_people", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.CheckConstraint("min_people >= 1", name=op.f("ck_groupbuy_price_tier_min_people")),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_groupbuy_price_tier_price")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["groupbuy_campaign.id"],
            name=op.f("fk_groupbuy_price_tier_campaign_id_groupbuy_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groupbuy_price_tier")),
        sa.UniqueConstraint("campaign_id", "min_people", name="uq_groupbuy_price_tier_people"),
    )
    op.create_table(
        "groupbuy_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("pickup_point_id", sa.Integer(), nullable=True),
        sa.Column("delivery_address", sa.Text(), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("payment_public_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reserved_until", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("refund_due_cents", sa.Integer(), nullable=False),
        sa.Column("refunded_cents", sa.Integer(), nullable=False),
        sa.Column("fulfilment", sa.String(length=10), nullable=False),
        sa.Column("fulfilled_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "fulfilment IN ('', 'picked_up', 'shipped')", name=op.f("ck_groupbuy_order_fulfilment")
        ),
        sa.CheckConstraint(
            "status IN ('reserved', 'paid', 'released', 'cancelled')",
            name=op.f("ck_groupbuy_order_status"),
        ),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_groupbuy_order_quantity")),
        sa.CheckConstraint(
            "refund_due_cents <= amount_cents", name=op.f("ck_groupbuy_order_refund_due")
        ),
        sa.CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents",
            name=op.f("ck_groupbuy_order_refunded"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["groupbuy_campaign.id"],
            name=op.f("fk_groupbuy_order_campaign_id_groupbuy_campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["member.id"],
            name=op.f("fk_groupbuy_order_invited_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_groupbuy_order_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["pickup_point_id"],
            ["groupbuy_pickup_point.id"],
            name=op.f("fk_groupbuy_order_pickup_point_id_groupbuy_pickup_point"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groupbuy_order")),
        sa.UniqueConstraint("payment_public_id", name=op.f("uq_groupbuy_order_payment_public_id")),
    )
    with op.batch_alter_table("groupbuy_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_groupbuy_order_campaign_status", ["campaign_id", "status"], unique=False
        )
        batch_op.create_index("ix_groupbuy_order_invited_by", ["invited_by_id"], unique=False)
        batch_op.create_index("ix_groupbuy_order_member", ["member_id"], unique=False)
        batch_op.create_index(
            "uq_groupbuy_order_live",
            ["campaign_id", "member_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('reserved', 'paid')"),
            postgresql_where=sa.text("status IN ('reserved', 'paid')"),
        )


def downgrade():
    with op.batch_alter_table("groupbuy_order", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_groupbuy_order_live",
            sqlite_where=sa.text("status IN ('reserved', 'paid')"),
            postgresql_where=sa.text("status IN ('reserved', 'paid')"),
        )
        batch_op.drop_index("ix_groupbuy_order_member")
        batch_op.drop_index("ix_groupbuy_order_invited_by")
        batch_op.drop_index("ix_groupbuy_order_campaign_status")

    op.drop_table("groupbuy_order")
    op.drop_table("groupbuy_price_tier")
    with op.batch_alter_table("groupbuy_pickup_point", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_groupbuy_pickup_point_campaign_id"))

    op.drop_table("groupbuy_pickup_point")
    with op.batch_alter_table("groupbuy_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_groupbuy_photo_campaign_id"))

    op.drop_table("groupbuy_photo")
    with op.batch_alter_table("groupbuy_campaign", schema=None) as batch_op:
        batch_op.drop_index("ix_groupbuy_campaign_status_deadline")
        batch_op.drop_index(batch_op.f("ix_groupbuy_campaign_leader_id"))
        batch_op.drop_index(batch_op.f("ix_groupbuy_campaign_board_id"))

    op.drop_table("groupbuy_campaign")
