"""The plugin's Alembic branch builds exactly what models.py declares, and drops it again."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from forum.extensions import db
from forum.testing import fresh_database, migrating_app, schema_diff

TABLES = {
    "membership_tier",
    "membership_tier_group",
    "membership_subscription",
    "membership_purchase",
    "membership_question",
    "membership_application",
    "membership_invite",
    "membership_invite_use",
    "membership_rule",
    "membership_warning",
    "membership_removal",
}


def test_migration_creates_what_the_models_declare(tmp_path, database_kind):
    with fresh_database(tmp_path, database_kind) as url:
        app = migrating_app(tmp_path, url)
        with app.app_context():
            directory = app.extensions["migrate"].directory
            upgrade(directory=directory, revision="heads")
            engine = inspect(db.engine)
            assert set(engine.get_table_names()) >= TABLES
            unique = {
                tuple(u["column_names"])
                for u in engine.get_unique_constraints("membership_purchase")
            }
            assert ("order_id",) in unique
            pending = {i["name"]: i["unique"] for i in engine.get_indexes("membership_application")}
            assert pending.get("uq_membership_application_pending")
            diff = schema_diff(only="membership")
            assert diff == [], diff
            downgrade(directory=directory, revision="membership@base")
            assert not TABLES & set(inspect(db.engine).get_table_names())
            db.session.remove()
            db.engine.dispose()
