"""plugin platform: which plugins are enabled, and their settings

Revision ID: 5b8e1d4c7a20
Revises: 7d3f0c2a9b11
Create Date: 2026-12-02 05:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5b8e1d4c7a20"
down_revision = "7d3f0c2a9b11"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plugin_state",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_plugin_state")),
    )
    op.create_table(
        "plugin_setting",
        sa.Column("plugin", sa.String(length=60), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("plugin", "key", name=op.f("pk_plugin_setting")),
    )


def downgrade():
    op.drop_table("plugin_setting")
    op.drop_table("plugin_state")
