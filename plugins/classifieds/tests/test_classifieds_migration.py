"""The plugin's Alembic branch builds exactly what models.py declares, and drops it again;
the core's revision 0006 lets a report's reason be "scam" and goes back."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from forum.extensions import db
from forum.testing import fresh_database, migrating_app, schema_diff

TABLES = {
    "classifieds_category",
    "classifieds_field",
    "classifieds_listing",
    "classifieds_image",
    "classifieds_value",
    "classifieds_trade",
    "classifieds_rating",
    "classifieds_scam_report",
    "classifieds_frozen_seller",
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
                for u in engine.get_unique_constraints("classifieds_rating")
            }
            assert ("trade_id", "rater_id") in unique
            indexes = {i["name"]: i for i in engine.get_indexes("classifieds_trade")}
            assert indexes["uq_classifieds_trade_open"]["unique"]
            diff = schema_diff(only="classifieds")
            assert diff == [], diff
            downgrade(directory=directory, revision="classifieds@base")
            assert not TABLES & set(inspect(db.engine).get_table_names())
            db.session.remove()
            db.engine.dispose()


def _reason_allowed(reason: str) -> bool:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    with db.engine.connect() as conn:
        trans = conn.begin()
        try:
            conn.execute(
                text(
                    "INSERT INTO member (username, username_key, email, email_key, "
                    "password_hash, display_name, bio, timezone, locale, status, ban_reason, "
                    "created_at, post_count, thread_count, session_token, like_count, "
                    "warning_count, unread_notifications, unread_messages, digest) VALUES "
                    "('ann', 'ann', 'a@x', 'a@x', 'x', '', '', '', '', 'active', '', "
                    "CURRENT_TIMESTAMP, 0, 0, '', 0, 0, 0, 0, 'off')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO report_case (target_type, target_id, kind, status, "
                    "report_count, created_at, last_reported_at, resolution) VALUES "
                    "('member', 1, 'report', 'open', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO report (case_id, reporter_id, reason, note, created_at) "
                    "SELECT max(report_case.id), max(member.id), :r, '', CURRENT_TIMESTAMP "
                    "FROM report_case, member"
                ),
                {"r": reason},
            )
        except IntegrityError:
            return False
        finally:
            trans.rollback()
    return True


def test_core_revision_0006_allows_the_scam_reason(tmp_path, database_kind):
    with fresh_database(tmp_path, database_kind) as url:
        app = migrating_app(tmp_path, url)
        with app.app_context():
            directory = app.extensions["migrate"].directory
            upgrade(directory=directory, revision="heads")
            assert _reason_allowed("scam")
            assert not _reason_allowed("nonsense")
            downgrade(directory=directory, revision="8c4f2e6a1d37")
            assert not _reason_allowed("scam")
            assert _reason_allowed("spam")
            upgrade(directory=directory, revision="heads")
            assert _reason_allowed("scam")
            db.session.remove()
            db.engine.dispose()
