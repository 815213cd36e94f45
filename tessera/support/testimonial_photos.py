"""The photo of a testimonial: accepted by its content (JPEG, PNG, WebP), re-encoded without metadata."""

import hashlib
import io

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTO_BYTES = 2 * 1024 * 1024
# A phone photo is 12 MP; more is refused before it is decoded.
MAX_PIXELS = 16_000_000
SIDE = 160
FORMATS = {"JPEG", "PNG", "WEBP"}


def photo_clean(data: bytes) -> bytes:
    """A square JPEG of SIDE pixels made from the upload; ValidationError if it is not a real image.

    Re-encoding a fresh RGB image drops EXIF (location, camera), XMP and ICC data of the original.
    """
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationError(_("The photo is too large: at most 2 MB."), code="too_large")
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in FORMATS:
            raise ValidationError(_("Only JPEG, PNG and WebP photos are accepted."), code="format")
        if image.width * image.height > MAX_PIXELS:
            raise ValidationError(_("The photo has too many pixels: at most 16 megapixels."), code="pixels")
        image.verify()  # the file's structure; it must be opened again to be decoded
        image = Image.open(io.BytesIO(data))
        if image.format == "JPEG":
            image.draft("RGB", (SIDE * 2, SIDE * 2))
        image = ImageOps.exif_transpose(image)
        image.load()
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            _("This file is not a valid JPEG, PNG or WebP image."), code="invalid"
        ) from None
    rgba = image.convert("RGBA")
    square = ImageOps.fit(rgba, (SIDE, SIDE), method=Image.Resampling.LANCZOS)
    clean = Image.new("RGB", square.size, (255, 255, 255))
    clean.paste(square, mask=square.getchannel("A"))
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=82, optimize=True, progressive=True)
    return out.getvalue()


def photo_version(content: bytes) -> str:
    """Part of the photo's address: a new photo gets a new address, so caches never show an old one."""
    return hashlib.sha256(content).hexdigest()[:16] if content else ""
