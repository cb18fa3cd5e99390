"""Site-wide settings and the state version that invalidates every worker's caches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from forum.extensions import db


class SiteSetting(db.Model):
    """A site setting set by the owner in the admin area (JSON value)."""

    __tablename__ = "site_setting"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class SiteState(db.Model):
    """A single row whose ``version`` goes up on every change to settings, boards, groups or
    permissions. Each worker checks it once per request and drops its caches when it moved."""

    __tablename__ = "site_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
