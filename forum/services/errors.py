"""Exceptions services raise; views turn them into form errors, 403 or 404 pages."""

from __future__ import annotations


class ServiceError(Exception):
    """A rule refused the action. ``message`` is already translated for the member."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class PermissionDenied(ServiceError):
    """The member may not do this (HTTP 403)."""


class NotFound(ServiceError):
    """The thing does not exist, or the member may not know that it exists (HTTP 404)."""
