"""governance: reports, moderation log, word filter, notifications, watches, conversations, likes

New NOT NULL columns on existing tables get server defaults, so existing rows fill in.
conversation.last_message_id points forward to message (created after it): op.create_table
leaves such a use_alter key out on PostgreSQL, so it is added afterwards, as in 0002.

Revision ID: 8c4f2e6a1d37
Revises: 5b8e1d4c7a20
Create Date: 2026-12-02 09:58:53.472406

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "8c4f2e6a1d37"
down_revision = "5b8e1d4c7a20"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "word_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phrase", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("replacement", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "action IN ('replace', 'hold', 'block')", name=op.f("ck_word_filter_action")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_word_filter")),
        sa.UniqueConstraint("phrase", name=op.f("uq_word_filter_phrase")),
    )
    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("last_message_id", sa.Integer(), nullable=True),
        sa.Column("last_message_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["member.id"],
            name=op.f("fk_conversation_created_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["last_message_id"],
            ["message.id"],
            name=op.f("fk_conversation_last_message_id_message"),
            ondelete="SET NULL",
            use_alter=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation")),
    )
    op.create_table(
        "member_block",
        sa.Column("blocker_id", sa.Integer(), nullable=False),
        sa.Column("blocked_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("blocker_id <> blocked_id", name=op.f("ck_member_block_not_self")),
        sa.ForeignKeyConstraint(
            ["blocked_id"],
            ["member.id"],
            name=op.f("fk_member_block_blocked_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["blocker_id"],
            ["member.id"],
            name=op.f("fk_member_block_blocker_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id", name=op.f("pk_member_block")),
    )
    op.create_table(
        "watch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("level IN ('watching', 'muted')", name=op.f("ck_watch_level")),
        sa.CheckConstraint("target_type IN ('thread', 'board')", name=op.f("ck_watch_target_type")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_watch_member_id_member"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watch")),
        sa.UniqueConstraint("member_id", "target_type", "target_id", name="uq_watch_member_target"),
    )
    with op.batch_alter_table("watch", schema=None) as batch_op:
        batch_op.create_index(
            "ix_watch_target", ["target_type", "target_id", "level"], unique=False
        )

    op.create_table(
        "conversation_member",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("left_at", sa.DateTime(), nullable=True),
        sa.Column("last_message_at", sa.DateTime(), nullable=False),
        sa.Column("last_read_message_id", sa.Integer(), nullable=False),
        sa.Column("unread_count", sa.Integer(), nullable=False),
        sa.CheckConstraint("unread_count >= 0", name=op.f("ck_conversation_member_unread_count")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_conversation_member_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_conversation_member_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "conversation_id", "member_id", name=op.f("pk_conversation_member")
        ),
    )
    with op.batch_alter_table("conversation_member", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversation_member_inbox",
            ["member_id", "left_at", "last_message_at"],
            unique=False,
        )

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("hidden_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
            name=op.f("fk_message_author_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversation.id"],
            name=op.f("fk_message_conversation_id_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("ix_message_conversation", ["conversation_id", "id"], unique=False)

    op.create_table(
        "report_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("board_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_reported_at", sa.DateTime(), nullable=False),
        sa.Column("resolution", sa.String(length=20), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('report', 'held')", name=op.f("ck_report_case_kind")),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_report_case_status")),
        sa.CheckConstraint(
            "target_type IN ('post', 'member', 'message')", name=op.f("ck_report_case_target_type")
        ),
        sa.CheckConstraint("report_count >= 0", name=op.f("ck_report_case_report_count")),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["board.id"],
            name=op.f("fk_report_case_board_id_board"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["member.id"], name=op.f("fk_report_case_resolved_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["member.id"],
            name=op.f("fk_report_case_subject_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_case")),
    )
    with op.batch_alter_table("report_case", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_case_queue", ["status", "board_id", "last_reported_at"], unique=False
        )
        batch_op.create_index(
            "uq_report_case_open_target",
            ["target_type", "target_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "moderation_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("target_type", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("board_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["member.id"],
            name=op.f("fk_moderation_log_actor_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["board.id"],
            name=op.f("fk_moderation_log_board_id_board"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["report_case.id"],
            name=op.f("fk_moderation_log_case_id_report_case"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["member.id"],
            name=op.f("fk_moderation_log_subject_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_log")),
    )
    with op.batch_alter_table("moderation_log", schema=None) as batch_op:
        batch_op.create_index("ix_moderation_log_board", ["board_id", "id"], unique=False)
        batch_op.create_index("ix_moderation_log_subject", ["subject_id", "id"], unique=False)

    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=12), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "reason IN ('spam', 'abuse', 'off_topic', 'illegal', 'other')",
            name=op.f("ck_report_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["report_case.id"],
            name=op.f("fk_report_case_id_report_case"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["member.id"],
            name=op.f("fk_report_reporter_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
        sa.UniqueConstraint("case_id", "reporter_id", name="uq_report_case_reporter"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("emailed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["member.id"],
            name=op.f("fk_notification_actor_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_notification_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["post.id"], name=op.f("fk_notification_post_id_post"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_notification_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_digest", ["emailed_at", "read_at", "member_id"], unique=False
        )
        batch_op.create_index("ix_notification_member", ["member_id", "id"], unique=False)

    op.create_table(
        "post_like",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_post_like_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["post.id"], name=op.f("fk_post_like_post_id_post"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", "member_id", name=op.f("pk_post_like")),
    )
    with op.batch_alter_table("post_like", schema=None) as batch_op:
        batch_op.create_index("ix_post_like_member", ["member_id", "created_at"], unique=False)

    with op.batch_alter_table("group", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "post_rate", sa.String(length=40), nullable=False, server_default=sa.text("''")
            )
        )

    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("like_count", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("warning_count", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column(
                "unread_notifications", sa.Integer(), nullable=False, server_default=sa.text("0")
            )
        )
        batch_op.add_column(
            sa.Column("unread_messages", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column(
                "digest", sa.String(length=10), nullable=False, server_default=sa.text("'off'")
            )
        )
        batch_op.add_column(sa.Column("digest_sent_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "state", sa.String(length=10), nullable=False, server_default=sa.text("'published'")
            )
        )
        batch_op.add_column(
            sa.Column("like_count", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )

    with op.batch_alter_table("thread", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("held", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.drop_index(batch_op.f("ix_thread_board_listing"))
        batch_op.create_index(
            "ix_thread_board_listing",
            ["board_id", "pinned", "last_post_at", "deleted_at", "held", "id"],
            unique=False,
        )

    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.create_foreign_key(
            "fk_conversation_last_message_id_message",
            "conversation",
            "message",
            ["last_message_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(
            "fk_conversation_last_message_id_message", "conversation", type_="foreignkey"
        )
    with op.batch_alter_table("thread", schema=None) as batch_op:
        batch_op.drop_index("ix_thread_board_listing")
        batch_op.create_index(
            batch_op.f("ix_thread_board_listing"),
            ["board_id", "pinned", "last_post_at", "deleted_at", "id"],
            unique=False,
        )
        batch_op.drop_column("held")

    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_column("like_count")
        batch_op.drop_column("state")

    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("digest_sent_at")
        batch_op.drop_column("digest")
        batch_op.drop_column("unread_messages")
        batch_op.drop_column("unread_notifications")
        batch_op.drop_column("warning_count")
        batch_op.drop_column("like_count")

    with op.batch_alter_table("group", schema=None) as batch_op:
        batch_op.drop_column("post_rate")

    with op.batch_alter_table("post_like", schema=None) as batch_op:
        batch_op.drop_index("ix_post_like_member")

    op.drop_table("post_like")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_member")
        batch_op.drop_index("ix_notification_digest")

    op.drop_table("notification")
    op.drop_table("report")
    with op.batch_alter_table("moderation_log", schema=None) as batch_op:
        batch_op.drop_index("ix_moderation_log_subject")
        batch_op.drop_index("ix_moderation_log_board")

    op.drop_table("moderation_log")
    with op.batch_alter_table("report_case", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_report_case_open_target",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index("ix_report_case_queue")

    op.drop_table("report_case")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_conversation")

    op.drop_table("message")
    with op.batch_alter_table("conversation_member", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_member_inbox")

    op.drop_table("conversation_member")
    with op.batch_alter_table("watch", schema=None) as batch_op:
        batch_op.drop_index("ix_watch_target")

    op.drop_table("watch")
    op.drop_table("member_block")
    op.drop_table("conversation")
    op.drop_table("word_filter")
