"""checkin plugin: camps, participants, check-ins, numbers, likes, comments, stats

Revision ID: checkin_0001
Revises:
Create Date: 2026-12-02 20:15:00

The first revision of the check-ins plugin's Alembic branch (label ``checkin``), on top of
the core's revision that has the points ledger's escrows.
"""

import sqlalchemy as sa
from alembic import op

revision = "checkin_0001"
down_revision = None
branch_labels = ("checkin",)
depends_on = "8c4f2e6a1d37"


def upgrade():
    op.create_table(
        "checkin_camp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_html", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("window_end", sa.Integer(), nullable=False),
        sa.Column("require_note", sa.Boolean(), nullable=False),
        sa.Column("require_photo", sa.Boolean(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("join_group_id", sa.Integer(), nullable=True),
        sa.Column("join_fee", sa.Integer(), nullable=False),
        sa.Column("deposit", sa.Integer(), nullable=False),
        sa.Column("min_days", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("checkin_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'settling', 'settled')", name=op.f("ck_checkin_camp_status")
        ),
        sa.CheckConstraint("join_fee >= 0 AND deposit >= 0", name=op.f("ck_checkin_camp_money")),
        sa.CheckConstraint(
            "member_count >= 0 AND checkin_count >= 0", name=op.f("ck_checkin_camp_counts")
        ),
        sa.CheckConstraint(
            "window_start >= 0 AND window_end <= 1439 AND window_start <= window_end",
            name=op.f("ck_checkin_camp_window"),
        ),
        sa.ForeignKeyConstraint(
            ["join_group_id"],
            ["group.id"],
            name=op.f("fk_checkin_camp_join_group_id_group"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["member.id"],
            name=op.f("fk_checkin_camp_owner_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_camp")),
    )
    op.create_index(op.f("ix_checkin_camp_owner_id"), "checkin_camp", ["owner_id"], unique=False)
    op.create_index(
        "ix_checkin_camp_status_ends", "checkin_camp", ["status", "ends_on"], unique=False
    )
    op.create_table(
        "checkin_stats",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("current_streak", sa.Integer(), nullable=False),
        sa.Column("longest_streak", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("camps_completed", sa.Integer(), nullable=False),
        sa.Column("reminder_hour", sa.Integer(), nullable=True),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "reminder_hour IS NULL OR (reminder_hour >= 0 AND reminder_hour <= 23)",
            name=op.f("ck_checkin_stats_reminder_hour"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_checkin_stats_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_checkin_stats")),
    )
    op.create_index(
        "ix_checkin_stats_reminder_hour", "checkin_stats", ["reminder_hour"], unique=False
    )
    op.create_table(
        "checkin_checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camp_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("note_html", sa.Text(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=True),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("makeup", sa.Boolean(), nullable=False),
        sa.Column("like_count", sa.Integer(), nullable=False),
        sa.Column("comment_count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "like_count >= 0 AND comment_count >= 0", name=op.f("ck_checkin_checkin_counts")
        ),
        sa.ForeignKeyConstraint(
            ["camp_id"],
            ["checkin_camp.id"],
            name=op.f("fk_checkin_checkin_camp_id_checkin_camp"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_checkin_checkin_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["upload.id"],
            name=op.f("fk_checkin_checkin_upload_id_upload"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_checkin")),
        sa.UniqueConstraint(
            "camp_id", "member_id", "day", name="uq_checkin_checkin_camp_member_day"
        ),
    )
    op.create_index(
        "ix_checkin_checkin_camp_created",
        "checkin_checkin",
        ["camp_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_checkin_checkin_camp_day", "checkin_checkin", ["camp_id", "day"], unique=False
    )
    op.create_index(
        "ix_checkin_checkin_member_day", "checkin_checkin", ["member_id", "day"], unique=False
    )
    op.create_table(
        "checkin_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camp_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("escrow_id", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("current_streak", sa.Integer(), nullable=False),
        sa.Column("longest_streak", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('active', 'completed', 'failed', 'left')",
            name=op.f("ck_checkin_participant_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["camp_id"],
            ["checkin_camp.id"],
            name=op.f("fk_checkin_participant_camp_id_checkin_camp"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["escrow_id"],
            ["point_escrow.id"],
            name=op.f("fk_checkin_participant_escrow_id_point_escrow"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_checkin_participant_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_participant")),
        sa.UniqueConstraint("camp_id", "member_id", name="uq_checkin_participant_camp_member"),
    )
    op.create_index(
        "ix_checkin_participant_camp_streak",
        "checkin_participant",
        ["camp_id", "current_streak"],
        unique=False,
    )
    op.create_index(
        "ix_checkin_participant_camp_total",
        "checkin_participant",
        ["camp_id", "total"],
        unique=False,
    )
    op.create_index(
        op.f("ix_checkin_participant_member_id"), "checkin_participant", ["member_id"], unique=False
    )
    op.create_table(
        "checkin_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
            name=op.f("fk_checkin_comment_author_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkin_checkin.id"],
            name=op.f("fk_checkin_comment_checkin_id_checkin_checkin"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_comment")),
    )
    op.create_index(
        op.f("ix_checkin_comment_author_id"), "checkin_comment", ["author_id"], unique=False
    )
    op.create_index(
        "ix_checkin_comment_checkin_created",
        "checkin_comment",
        ["checkin_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "checkin_like",
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkin_checkin.id"],
            name=op.f("fk_checkin_like_checkin_id_checkin_checkin"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_checkin_like_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("checkin_id", "member_id", name=op.f("pk_checkin_like")),
    )
    op.create_table(
        "checkin_metric",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("camp_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camp_id"],
            ["checkin_camp.id"],
            name=op.f("fk_checkin_metric_camp_id_checkin_camp"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkin_checkin.id"],
            name=op.f("fk_checkin_metric_checkin_id_checkin_checkin"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_checkin_metric_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_metric")),
        sa.UniqueConstraint("checkin_id", "key", name="uq_checkin_metric_checkin_key"),
    )
    op.create_index(
        "ix_checkin_metric_camp_key_day", "checkin_metric", ["camp_id", "key", "day"], unique=False
    )


def downgrade():
    op.drop_index("ix_checkin_metric_camp_key_day", table_name="checkin_metric")
    op.drop_table("checkin_metric")
    op.drop_table("checkin_like")
    op.drop_index("ix_checkin_comment_checkin_created", table_name="checkin_comment")
    op.drop_index(op.f("ix_checkin_comment_author_id"), table_name="checkin_comment")
    op.drop_table("checkin_comment")
    op.drop_index(op.f("ix_checkin_participant_member_id"), table_name="checkin_participant")
    op.drop_index("ix_checkin_participant_camp_total", table_name="checkin_participant")
    op.drop_index("ix_checkin_participant_camp_streak", table_name="checkin_participant")
    op.drop_table("checkin_participant")
    op.drop_index("ix_checkin_checkin_member_day", table_name="checkin_checkin")
    op.drop_index("ix_checkin_checkin_camp_day", table_name="checkin_checkin")
    op.drop_index("ix_checkin_checkin_camp_created", table_name="checkin_checkin")
    op.drop_table("checkin_checkin")
    op.drop_index("ix_checkin_stats_reminder_hour", table_name="checkin_stats")
    op.drop_table("checkin_stats")
    op.drop_index("ix_checkin_camp_status_ends", table_name="checkin_camp")
    op.drop_index(op.f("ix_checkin_camp_owner_id"), table_name="checkin_camp")
    op.drop_table("checkin_camp")
