"""A fresh database upgraded to head matches the models: no pending autogenerate diff."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade

from forum.extensions import db
from forum.testing import fresh_database, migrating_app, schema_diff


def test_upgrade_to_head_matches_models(tmp_path, database_kind):
    with fresh_database(tmp_path, database_kind) as url:
        app = migrating_app(tmp_path, url)
        with app.app_context():
            directory = app.extensions["migrate"].directory
            upgrade(directory=directory, revision="heads")  # the core and bundled plugins
            diff = schema_diff()
            assert diff == [], diff
            downgrade(directory=directory, revision="base")
            upgrade(directory=directory, revision="heads")
            db.session.remove()
            db.engine.dispose()
