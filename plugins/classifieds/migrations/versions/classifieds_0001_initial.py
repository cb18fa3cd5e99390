"""classifieds plugin: categories, typed fields, listings, images, values, trades, ratings,
scam reports, frozen sellers

Revision ID: classifieds_0001
Revises:
Create Date: 2026-12-03 07:39:38

The first revision of the classifieds plugin's Alembic branch (label ``classifieds``), on
top of the core's revision that lets a report's reason be "scam" (scam reports open
moderation cases with it).
"""

import sqlalchemy as sa
from alembic import op

revision = "classifieds_0001"
down_revision = None
branch_labels = ("classifieds",)
depends_on = "a6d2f7c3e918"


def upgrade():
    op.create_table(
        "classifieds_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifieds_category")),
    )
    op.create_table(
        "classifieds_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=30), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("in_list", sa.Boolean(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("unit", sa.String(length=12), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "type IN ('text', 'number', 'money', 'select', 'multi', 'city', 'bool')",
            name=op.f("ck_classifieds_field_type"),
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["classifieds_category.id"],
            name=op.f("fk_classifieds_field_category_id_classifieds_category"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifieds_field")),
        sa.UniqueConstraint("category_id", "key", name="uq_classifieds_field_key"),
    )
    op.create_table(
        "classifieds_frozen_seller",
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("frozen_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["frozen_by_id"],
            ["member.id"],
            name=op.f("fk_classifieds_frozen_seller_frozen_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_classifieds_frozen_seller_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_classifieds_frozen_seller")),
    )
    op.create_table(
        "classifieds_listing",
        sa.Column("thread_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("condition", sa.String(length=10), nullable=False),
        sa.Column("city", sa.String(length=40), nullable=False),
        sa.Column("city_key", sa.String(length=40), nullable=False),
        sa.Column("pickup", sa.Boolean(), nullable=False),
        sa.Column("shipping", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reserved_for_id", sa.Integer(), nullable=True),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("bumped_at", sa.DateTime(), nullable=False),
        sa.Column("image_count", sa.Integer(), nullable=False),
        sa.Column("cover_upload_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "condition IN ('new', 'like_new', 'good', 'fair', 'for_parts')",
            name=op.f("ck_classifieds_listing_condition"),
        ),
        sa.CheckConstraint(
            "status IN ('available', 'reserved', 'sold', 'expired')",
            name=op.f("ck_classifieds_listing_status"),
        ),
        sa.CheckConstraint(
            "image_count >= 0 AND image_count <= 9", name=op.f("ck_classifieds_listing_image_count")
        ),
        sa.CheckConstraint("pickup OR shipping", name=op.f("ck_classifieds_listing_trade")),
        sa.CheckConstraint(
            "price_cents >= 0 AND price_cents <= 10000000000",
            name=op.f("ck_classifieds_listing_price"),
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["classifieds_category.id"],
            name=op.f("fk_classifieds_listing_category_id_classifieds_category"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["cover_upload_id"],
            ["upload.id"],
            name=op.f("fk_classifieds_listing_cover_upload_id_upload"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reserved_for_id"],
            ["member.id"],
            name=op.f("fk_classifieds_listing_reserved_for_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["member.id"],
            name=op.f("fk_classifieds_listing_seller_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_classifieds_listing_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", name=op.f("pk_classifieds_listing")),
    )
    with op.batch_alter_table("classifieds_listing", schema=None) as batch_op:
        batch_op.create_index(
            "ix_classifieds_listing_category", ["category_id", "status", "bumped_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_classifieds_listing_city_key"), ["city_key"], unique=False
        )
        batch_op.create_index(
            "ix_classifieds_listing_expires", ["status", "expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_classifieds_listing_price", ["status", "price_cents"], unique=False
        )
        batch_op.create_index(
            "ix_classifieds_listing_seller", ["seller_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_classifieds_listing_status_bumped", ["status", "bumped_at"], unique=False
        )

    op.create_table(
        "classifieds_image",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "position >= 0 AND position < 9", name=op.f("ck_classifieds_image_position")
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["classifieds_listing.thread_id"],
            name=op.f("fk_classifieds_image_listing_id_classifieds_listing"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["upload.id"],
            name=op.f("fk_classifieds_image_upload_id_upload"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifieds_image")),
        sa.UniqueConstraint("listing_id", "upload_id", name="uq_classifieds_image_upload"),
    )
    with op.batch_alter_table("classifieds_image", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_classifieds_image_listing_id"), ["listing_id"], unique=False
        )

    op.create_table(
        "classifieds_trade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'cancelled')",
            name=op.f("ck_classifieds_trade_status"),
        ),
        sa.CheckConstraint("seller_id <> buyer_id", name=op.f("ck_classifieds_trade_parties")),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["member.id"],
            name=op.f("fk_classifieds_trade_buyer_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["classifieds_listing.thread_id"],
            name=op.f("fk_classifieds_trade_listing_id_classifieds_listing"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["member.id"],
            name=op.f("fk_classifieds_trade_seller_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifieds_trade")),
    )
    with op.batch_alter_table("classifieds_trade", schema=None) as batch_op:
        batch_op.create_index("ix_classifieds_trade_buyer", ["buyer_id", "status"], unique=False)
        batch_op.create_index("ix_classifieds_trade_seller", ["seller_id", "status"], unique=False)
        batch_op.create_index(
            "uq_classifieds_trade_open",
            ["listing_id"],
            unique=True,
            sqlite_where=sa.text("status <> 'cancelled'"),
            postgresql_where=sa.text("status <> 'cancelled'"),
        )

    op.create_table(
        "classifieds_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=False),
        sa.Column("value_text", sa.String(length=200), nullable=True),
        sa.Column("value_num", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["field_id"],
            ["classifieds_field.id"],
            name=op.f("fk_classifieds_value_field_id_classifieds_field"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["classifieds_listing.thread_id"],
            name=op.f("fk_classifieds_value_listing_id_classifieds_listing"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifieds_value")),
    )
    with op.batch_alter_table("classifieds_value", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_classifieds_value_listing_id"), ["listing_id"], unique=False
        )
        batch_op.create_index("ix_classifieds_value_num", ["field_id", "value_num"], unique=False)
        batch_op.create_index("ix_classifieds_value_text", ["field_id", "value_text"], unique=False)

    op.create_table(
        "classifieds_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("ratee_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("reply", sa.String(length=500), nullable=True),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.CheckConstraint("rater_id <> ratee_id", name=op.f("ck_classifieds_rating_parties")),
        sa.CheckConstraint("score IN (1, 0, -1)", name=op.f("ck_classifieds_rating_score")),
        sa.ForeignKeyConstraint(
            ["ratee_id"],
            ["member.id"],
            name=op.f("fk_classifieds_rating_ratee_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rater_id"],
            ["member.id"],
            name=op.f("fk_classifieds_rating_rater_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["classifieds_trade.id"],
            name=op.f("fk_classifieds_rating_trade_id_classifieds_trade"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifieds_rating")),
        sa.UniqueConstraint("trade_id", "rater_id", name="uq_classifieds_rating_rater"),
    )
    with op.batch_alter_table("classifieds_rating", schema=None) as batch_op:
        batch_op.create_index(
            "ix_classifieds_rating_ratee", ["ratee_id", "created_at"], unique=False
        )

    op.create_table(
        "classifieds_scam_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("image_ids", sa.JSON(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'upheld', 'dismissed')",
            name=op.f("ck_classifieds_scam_report_status"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["report_case.id"],
            name=op.f("fk_classifieds_scam_report_case_id_report_case"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["handled_by_id"],
            ["member.id"],
            name=op.f("fk_classifieds_scam_report_handled_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["member.id"],
            name=op.f("fk_classifieds_scam_report_reporter_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["member.id"],
            name=op.f("fk_classifieds_scam_report_seller_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trade_id"],
            ["classifieds_trade.id"],
            name=op.f("fk_classifieds_scam_report_trade_id_classifieds_trade"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifieds_scam_report")),
        sa.UniqueConstraint("trade_id", "reporter_id", name="uq_classifieds_scam_report_reporter"),
    )
    with op.batch_alter_table("classifieds_scam_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_classifieds_scam_report_seller_id"), ["seller_id"], unique=False
        )
        batch_op.create_index(
            "ix_classifieds_scam_report_status", ["status", "created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("classifieds_scam_report", schema=None) as batch_op:
        batch_op.drop_index("ix_classifieds_scam_report_status")
        batch_op.drop_index(batch_op.f("ix_classifieds_scam_report_seller_id"))

    op.drop_table("classifieds_scam_report")
    with op.batch_alter_table("classifieds_rating", schema=None) as batch_op:
        batch_op.drop_index("ix_classifieds_rating_ratee")

    op.drop_table("classifieds_rating")
    with op.batch_alter_table("classifieds_value", schema=None) as batch_op:
        batch_op.drop_index("ix_classifieds_value_text")
        batch_op.drop_index("ix_classifieds_value_num")
        batch_op.drop_index(batch_op.f("ix_classifieds_value_listing_id"))

    op.drop_table("classifieds_value")
    with op.batch_alter_table("classifieds_trade", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_classifieds_trade_open",
            sqlite_where=sa.text("status <> 'cancelled'"),
            postgresql_where=sa.text("status <> 'cancelled'"),
        )
        batch_op.drop_index("ix_classifieds_trade_seller")
        batch_op.drop_index("ix_classifieds_trade_buyer")

    op.drop_table("classifieds_trade")
    with op.batch_alter_table("classifieds_image", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_classifieds_image_listing_id"))

    op.drop_table("classifieds_image")
    with op.batch_alter_table("classifieds_listing", schema=None) as batch_op:
        batch_op.drop_index("ix_classifieds_listing_status_bumped")
        batch_op.drop_index("ix_classifieds_listing_seller")
        batch_op.drop_index("ix_classifieds_listing_price")
        batch_op.drop_index("ix_classifieds_listing_expires")
        batch_op.drop_index(batch_op.f("ix_classifieds_listing_city_key"))
        batch_op.drop_index("ix_classifieds_listing_category")

    op.drop_table("classifieds_listing")
    op.drop_table("classifieds_frozen_seller")
    op.drop_table("classifieds_field")
    op.drop_table("classifieds_category")
