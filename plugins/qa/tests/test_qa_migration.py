"""The plugin's Alembic branch builds exactly what models.py declares, and drops it again."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from forum.extensions import db
from forum.testing import fresh_database, migrating_app, schema_diff

TABLES = {"qa_question", "qa_answer", "qa_vote", "qa_item_buyer"}


def test_migration_creates_what_the_models_declare(tmp_path, database_kind):
    with fresh_database(tmp_path, database_kind) as url:
        app = migrating_app(tmp_path, url)
        with app.app_context():
            directory = app.extensions["migrate"].directory
            upgrade(directory=directory, revision="heads")
            assert set(inspect(db.engine).get_table_names()) >= TABLES
            diff = schema_diff(only="qa")
            assert diff == [], diff
            downgrade(directory=directory, revision="qa@base")
            assert not TABLES & set(inspect(db.engine).get_table_names())
            db.session.remove()
            db.engine.dispose()
