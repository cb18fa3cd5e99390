"""Image uploads: sniffed and decoded by Pillow, size-capped, re-encoded without metadata.

Nothing a member uploads is stored as sent: the image is decoded, turned upright by its EXIF
orientation, shrunk to at most ``MAX_SIDE`` pixels, and saved anew as JPEG (or PNG when it
has transparency), which drops EXIF, GPS and any payload hidden in the file.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from forum.extensions import db
from forum.models import Member, Upload
from forum.models.base import utcnow
from forum.services.errors import ServiceError

ACCEPTED_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
MAX_SIDE = 2560
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding
AVATAR_SIDE = 256


def uploads_dir() -> Path:
    """The folder uploads are stored in (``instance/uploads``)."""
    return Path(current_app.instance_path) / "uploads"


def _decode(stream: BinaryIO) -> Image.Image:
    data = stream.read(current_app.config["MAX_CONTENT_LENGTH"] + 1)
    limit = int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024
    if len(data) > limit:
        raise ServiceError(
            _("The image is too large (at most %(n)d MB).", n=current_app.config["MAX_UPLOAD_MB"]),
            "image",
        )
    if not data:
        raise ServiceError(_("The file is empty."), "image")
    try:
        probe = Image.open(io.BytesIO(data))
        if probe.format not in ACCEPTED_FORMATS:
            raise ServiceError(_("Only JPEG, PNG, GIF and WebP images are accepted."), "image")
        if probe.width * probe.height > MAX_PIXELS:
            raise ServiceError(_("The image has too many pixels."), "image")
        probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except ServiceError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ServiceError(_("This file is not an image we can read."), "image") from None
    return ImageOps.exif_transpose(image)


def _store(member: Member, image: Image.Image) -> Upload:
    has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    now = utcnow()
    folder = f"{now:%Y/%m}"
    (uploads_dir() / folder).mkdir(parents=True, exist_ok=True)
    name = secrets.token_urlsafe(12)
    if has_alpha:
        image = image.convert("RGBA")
        rel, fmt, ctype, opts = f"{folder}/{name}.png", "PNG", "image/png", {"optimize": True}
    else:
        image = image.convert("RGB")
        rel, fmt, ctype = f"{folder}/{name}.jpg", "JPEG", "image/jpeg"
        opts = {"quality": 85, "optimize": True, "progressive": True}
    path = uploads_dir() / rel
    image.save(path, fmt, **opts)  # a fresh file: no EXIF, no trailing bytes
    upload = Upload(
        member_id=member.id,
        path=rel,
        content_type=ctype,
        width=image.width,
        height=image.height,
        size=path.stat().st_size,
        created_at=now,
    )
    db.session.add(upload)
    db.session.commit()
    return upload


def save_image(member: Member, stream: BinaryIO) -> Upload:
    """Check, re-encode and store an image for a post. Commits; returns the upload row."""
    image = _decode(stream)
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    return _store(member, image)


def save_images(member: Member, streams: Sequence[BinaryIO]) -> list[Upload]:
    """Like :func:`save_image` for several images, all or none: every stream is checked
    before any is stored, so one file that is not an image (ServiceError) stores nothing.
    Commits; returns the uploads in the streams' order."""
    images = [_decode(stream) for stream in streams]
    for image in images:
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    return [_store(member, image) for image in images]


def save_avatar(member: Member, stream: BinaryIO) -> Upload:
    """Like :func:`save_image`, cropped to a square avatar; sets it on the member. Commits."""
    image = _decode(stream)
    image = ImageOps.fit(image.convert("RGBA"), (AVATAR_SIDE, AVATAR_SIDE))
    upload = _store(member, image.convert("RGB"))
    from forum.services.members import set_avatar

    set_avatar(member, upload.path)
    return upload


def url_of(upload: Upload) -> str:
    """The URL path an upload is served at."""
    return "/uploads/" + upload.path
