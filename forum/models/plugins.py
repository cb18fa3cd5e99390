"""Which plugins the owner switched on, and their settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db
from forum.models.base import utcnow


class PluginState(db.Model):
    """One row per plugin that was ever enabled: ``enabled`` is its current state.

    A plugin without a row is installed but has never been switched on (disabled).
    """

    __tablename__ = "plugin_state"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class PluginSetting(db.Model):
    """A plugin setting the owner changed from its default (JSON value)."""

    __tablename__ = "plugin_setting"

    plugin: Mapped[str] = mapped_column(String(60), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
