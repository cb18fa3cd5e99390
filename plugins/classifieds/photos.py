"""Thumbnails of listing photos: a small JPEG stored beside each photo the market's form
uploads (``2026/12/abc.jpg`` → ``2026/12/abc.thumb.jpg``), so a page of cards does not
download full photos on a phone. Photos without one (uploaded elsewhere) show themselves."""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from PIL import Image

from forum.models import Upload
from forum.services import uploads

log = logging.getLogger(__name__)

#: The longest side of a thumbnail, in pixels.
THUMB_SIDE = 480


def thumb_path(path: str) -> str:
    """The thumbnail's path (under the uploads folder) of the photo at ``path``."""
    pure = PurePosixPath(path)
    return str(pure.with_name(f"{pure.stem}.thumb.jpg"))


def make_thumbnail(upload: Upload) -> None:
    """Write the upload's thumbnail beside it (JPEG, at most :data:`THUMB_SIDE` pixels).
    A failure is logged: the photo then shows itself in its place."""
    try:
        _write_thumbnail(upload)
    except OSError:
        log.exception("no thumbnail for upload %s", upload.id)


def _write_thumbnail(upload: Upload) -> None:
    source = uploads.uploads_dir() / upload.path
    with Image.open(source) as image:
        image.thumbnail((THUMB_SIDE, THUMB_SIDE))
        if image.mode not in ("RGB", "L"):
            background = Image.new("RGB", image.size, "white")
            background.paste(image.convert("RGBA"), mask=image.convert("RGBA").split()[-1])
            image = background
        image.save(uploads.uploads_dir() / thumb_path(upload.path), "JPEG", quality=80)


def thumb_url(upload: Upload) -> str:
    """The thumbnail's URL, or the photo's own when it has no thumbnail."""
    url = uploads.url_of(upload)
    small = thumb_path(upload.path)
    if (uploads.uploads_dir() / small).is_file():
        return url[: len(url) - len(upload.path)] + small
    return url
