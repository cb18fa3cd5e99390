"""report reason "scam" (the classifieds' scam reports join the moderation queue)

The report table's CHECK on ``reason`` is dropped and made again with ``scam``; batch mode
re-creates the table on SQLite, which cannot alter a constraint. Going down, scam reports
become ``other`` first so the old constraint holds.

Revision ID: a6d2f7c3e918
Revises: 8c4f2e6a1d37
Create Date: 2026-12-03 07:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a6d2f7c3e918"
down_revision = "8c4f2e6a1d37"
branch_labels = None
depends_on = None

NEW = "reason IN ('spam', 'abuse', 'off_topic', 'illegal', 'scam', 'other')"
OLD = "reason IN ('spam', 'abuse', 'off_topic', 'illegal', 'other')"


def upgrade():
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_report_reason"), type_="check")
        batch_op.create_check_constraint(op.f("ck_report_reason"), sa.text(NEW))


def downgrade():
    op.execute("UPDATE report SET reason = 'other' WHERE reason = 'scam'")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_report_reason"), type_="check")
        batch_op.create_check_constraint(op.f("ck_report_reason"), sa.text(OLD))
