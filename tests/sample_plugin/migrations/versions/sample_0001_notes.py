"""sample plugin: notes

Revision ID: sample0001
Revises:
Create Date: 2026-12-02 06:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "sample0001"
down_revision = None
branch_labels = ("sample",)
depends_on = "e49b3b7bb1fa"  # the core's thread table


def upgrade():
    op.create_table(
        "sample_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("colour", sa.String(length=20), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_sample_note_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sample_note")),
    )
    op.create_index(op.f("ix_sample_note_thread_id"), "sample_note", ["thread_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_sample_note_thread_id"), table_name="sample_note")
    op.drop_table("sample_note")
