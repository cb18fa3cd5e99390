"""The admin area under ``/admin``: boards, groups and permissions, members, site settings."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import login_required

from forum.services import permissions
from forum.web.util import viewer

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    if not permissions.is_admin(viewer()):
        abort(403)


@bp.route("/")
def index():
    return render_template("admin/index.html")
