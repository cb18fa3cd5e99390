"""The plugin's Alembic branch builds exactly what models.py declares (the partial unique
index included, on SQLite and PostgreSQL), and drops it again."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from forum.extensions import db
from forum.testing import fresh_database, migrating_app, schema_diff

TABLES = {
    "groupbuy_campaign",
    "groupbuy_price_tier",
    "groupbuy_pickup_point",
    "groupbuy_photo",
    "groupbuy_order",
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
                for u in engine.get_unique_constraints("groupbuy_price_tier")
            }
            assert ("campaign_id", "min_people") in unique
            indexes = {i["name"]: i for i in engine.get_indexes("groupbuy_order")}
            assert indexes["uq_groupbuy_order_live"]["unique"]
            checks = {c["name"] for c in engine.get_check_constraints("groupbuy_campaign")}
            assert "ck_groupbuy_campaign_stock_left_min" in checks
            diff = schema_diff(only="groupbuy")
            assert diff == [], diff
            downgrade(directory=directory, revision="groupbuy@base")
            assert not TABLES & set(inspect(db.engine).get_table_names())
            db.session.remove()
            db.engine.dispose()
