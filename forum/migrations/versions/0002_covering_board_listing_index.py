"""covering board listing index; the circular foreign keys on PostgreSQL

0001 declared board.last_post_id, board.last_thread_id, thread.first_post_id and
thread.last_post_id with use_alter, and op.create_table left them out on PostgreSQL (SQLite
took them inline). They are added here where they are missing.

Revision ID: e49b3b7bb1fa
Revises: 59b73bd9904d
Create Date: 2026-11-23 15:04:00.171522

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e49b3b7bb1fa"
down_revision = "59b73bd9904d"
branch_labels = None
depends_on = None


CIRCULAR_FKS = (
    ("fk_board_last_post_id_post", "board", "post", "last_post_id"),
    ("fk_board_last_thread_id_thread", "board", "thread", "last_thread_id"),
    ("fk_thread_first_post_id_post", "thread", "post", "first_post_id"),
    ("fk_thread_last_post_id_post", "thread", "post", "last_post_id"),
)


def upgrade():
    with op.batch_alter_table("thread", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thread_board_listing"))
        batch_op.create_index(
            "ix_thread_board_listing",
            ["board_id", "pinned", "last_post_at", "deleted_at", "id"],
            unique=False,
        )

    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        inspector = sa.inspect(bind)
        for name, table, target, column in CIRCULAR_FKS:
            existing = {fk["name"] for fk in inspector.get_foreign_keys(table)}
            if name not in existing:
                op.create_foreign_key(name, table, target, [column], ["id"], ondelete="SET NULL")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        for name, table, _target, _column in CIRCULAR_FKS:
            op.drop_constraint(name, table, type_="foreignkey")
    with op.batch_alter_table("thread", schema=None) as batch_op:
        batch_op.drop_index("ix_thread_board_listing")
        batch_op.create_index(
            batch_op.f("ix_thread_board_listing"),
            ["board_id", "pinned", "last_post_at"],
            unique=False,
        )
