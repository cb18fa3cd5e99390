"""The plugin's Alembic branch builds exactly what models.py declares, and drops it again."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from forum.extensions import db
from forum.testing import fresh_database, migrating_app, schema_diff

TABLES = {
    "checkin_camp",
    "checkin_participant",
    "checkin_checkin",
    "checkin_metric",
    "checkin_like",
    "checkin_comment",
    "checkin_stats",
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
                tuple(u["column_names"]) for u in engine.get_unique_constraints("checkin_checkin")
            }
            assert ("camp_id", "member_id", "day") in unique
            diff = schema_diff(only="checkin")
            assert diff == [], diff
            downgrade(directory=directory, revision="checkin@base")
            assert not TABLES & set(inspect(db.engine).get_table_names())
            db.session.remove()
            db.engine.dispose()
