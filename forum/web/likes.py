"""Likes on posts."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("likes", __name__)
