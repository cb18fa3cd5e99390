"""qa plugin: questions, answers' votes, item buyers

Revision ID: qa_0001
Revises:
Create Date: 2026-12-02 16:00:00

The first revision of the Q&A plugin's Alembic branch (label ``qa``), on top of the core's
revision that has the points ledger's escrows.
"""

import sqlalchemy as sa
from alembic import op

revision = "qa_0001"
down_revision = None
branch_labels = ("qa",)
depends_on = "8c4f2e6a1d37"


def upgrade():
    op.create_table(
        "qa_question",
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("asker_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_post_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("bounty", sa.Integer(), nullable=False),
        sa.Column("bounty_status", sa.String(length=10), nullable=False),
        sa.Column("bounty_escrow_id", sa.Integer(), nullable=True),
        sa.Column("bounty_deadline", sa.DateTime(), nullable=True),
        sa.Column("bounty_post_id", sa.Integer(), nullable=True),
        sa.Column("item_source", sa.String(length=40), nullable=False),
        sa.Column("item_id", sa.String(length=80), nullable=False),
        sa.Column("item_title", sa.String(length=200), nullable=False),
        sa.Column("item_url", sa.String(length=300), nullable=False),
        sa.CheckConstraint("bounty >= 0", name=op.f("ck_qa_question_bounty")),
        sa.CheckConstraint(
            "bounty_status IN ('', 'held', 'paid', 'refunded')",
            name=op.f("ck_qa_question_bounty_status"),
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["member.id"],
            name=op.f("fk_qa_question_accepted_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["accepted_post_id"],
            ["post.id"],
            name=op.f("fk_qa_question_accepted_post_id_post"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["asker_id"],
            ["member.id"],
            name=op.f("fk_qa_question_asker_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["bounty_escrow_id"],
            ["point_escrow.id"],
            name=op.f("fk_qa_question_bounty_escrow_id_point_escrow"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["bounty_post_id"],
            ["post.id"],
            name=op.f("fk_qa_question_bounty_post_id_post"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_qa_question_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", name=op.f("pk_qa_question")),
    )
    op.create_index(op.f("ix_qa_question_accepted_post_id"), "qa_question", ["accepted_post_id"])
    op.create_index(op.f("ix_qa_question_asker_id"), "qa_question", ["asker_id"])
    op.create_index("ix_qa_question_bounty", "qa_question", ["bounty_status", "bounty_deadline"])
    op.create_index("ix_qa_question_item", "qa_question", ["item_source", "item_id"])
    op.create_table(
        "qa_answer",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("up", sa.Integer(), nullable=False),
        sa.Column("down", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
            name=op.f("fk_qa_answer_author_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["post.id"], name=op.f("fk_qa_answer_post_id_post"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_qa_answer_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_qa_answer")),
    )
    op.create_index(op.f("ix_qa_answer_author_id"), "qa_answer", ["author_id"])
    op.create_index("ix_qa_answer_thread_score", "qa_answer", ["thread_id", "score"])
    op.create_table(
        "qa_vote",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("value IN (-1, 1)", name=op.f("ck_qa_vote_value")),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_qa_vote_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["post.id"], name=op.f("fk_qa_vote_post_id_post"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", "member_id", name=op.f("pk_qa_vote")),
    )
    op.create_table(
        "qa_item_buyer",
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("invited_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_qa_item_buyer_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_qa_item_buyer_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("thread_id", "member_id", name=op.f("pk_qa_item_buyer")),
    )


def downgrade():
    op.drop_table("qa_item_buyer")
    op.drop_table("qa_vote")
    op.drop_index("ix_qa_answer_thread_score", table_name="qa_answer")
    op.drop_index(op.f("ix_qa_answer_author_id"), table_name="qa_answer")
    op.drop_table("qa_answer")
    op.drop_index("ix_qa_question_item", table_name="qa_question")
    op.drop_index("ix_qa_question_bounty", table_name="qa_question")
    op.drop_index(op.f("ix_qa_question_asker_id"), table_name="qa_question")
    op.drop_index(op.f("ix_qa_question_accepted_post_id"), table_name="qa_question")
    op.drop_table("qa_question")
