"""Photo and logo uploads: the real type is read from the bytes, EXIF is dropped by re-encoding."""

import io

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = {"JPEG": {"jpg", "jpeg"}, "PNG": {"png"}, "WEBP": {"webp"}}
PHOTO_SIZES = {"photo": 512, "photo_small": 256}
# The public card page and the vCard carry `photo_small`, the page shows the template's logo: both are
# encoded to stay within these sizes, so the page (HTML, CSS, script, one font, photo, logo) stays under
# 50 KB whatever people upload. Quality steps down first, then the pixel size.
PHOTO_SMALL_MAX_BYTES = 10 * 1024
LOGO_MAX_BYTES = 8 * 1024


def _open(data: bytes, filename: str) -> Image.Image:
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The image is too large (%(size)s MB); the limit is 5 MB.")
            % {"size": round(len(data) / 1024 / 1024, 1)},
            code="too_large",
        )
    try:
        image = Image.open(io.BytesIO(data))
        image_format = image.format
        if image.width * image.height > MAX_PIXELS:
            raise ValidationError(_("The image has too many pixels."), code="too_many_pixels")
        image.verify()  # checks the file's structure; the image must be opened again afterwards
        image = Image.open(io.BytesIO(data))
        image.load()
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            _("This file is not a valid JPEG, PNG or WebP image."), code="not_an_image"
        ) from None
    if image_format not in ALLOWED_FORMATS:
        raise ValidationError(_("Only JPEG, PNG and WebP images are accepted."), code="format")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension and extension not in ALLOWED_FORMATS[image_format]:
        raise ValidationError(
            _("This file claims to be a .%(extension)s file but is really a %(format)s image.")
            % {"extension": extension, "format": image_format},
            code="mismatch",
        )
    return image


def _jpeg(image: Image.Image, size: int, quality: int = 80) -> bytes:
    fitted = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A fresh RGB image carries no EXIF, XMP or ICC metadata of the original.
    fitted.save(out, format="JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def _jpeg_within(image: Image.Image, size: int, max_bytes: int) -> bytes:
    """The best of a few JPEG encodings that fits `max_bytes` (the smallest one if none does)."""
    encoded = b""
    for side in (size, size * 7 // 8, size * 3 // 4, size * 5 // 8):
        for quality in (82, 74, 66, 58, 50):
            encoded = _jpeg(image, side, quality)
            if len(encoded) <= max_bytes:
                return encoded
    return encoded


def photo_variants(data: bytes, filename: str = "") -> dict[str, bytes]:
    """Validate an uploaded photo and return its square JPEG variants, stripped of metadata."""
    image = _open(data, filename)
    image = ImageOps.exif_transpose(image)
    clean = Image.new("RGB", image.size, (255, 255, 255))
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        clean.paste(rgba, mask=rgba.split()[-1])
    else:
        clean.paste(image.convert("RGB"))
    return {
        "photo": _jpeg(clean, PHOTO_SIZES["photo"]),
        "photo_small": _jpeg_within(clean, PHOTO_SIZES["photo_small"], PHOTO_SMALL_MAX_BYTES),
    }


def logo_png(data: bytes, filename: str = "") -> bytes:
    """Validate a logo and return it as a PNG at most 320 px wide, without metadata."""
    image = _open(data, filename).convert("RGBA")
    encoded = b""
    for box in ((320, 160), (240, 120), (160, 80), (120, 60)):
        fitted = image.copy()
        fitted.thumbnail(box, Image.Resampling.LANCZOS)
        clean = Image.new("RGBA", fitted.size)
        clean.paste(fitted)
        # Full colour first; then palettes, which keep logos crisp at a fraction of the size.
        for candidate in (
            clean,
            clean.quantize(colors=128, method=Image.Quantize.FASTOCTREE),
            clean.quantize(colors=32, method=Image.Quantize.FASTOCTREE),
        ):
            out = io.BytesIO()
            candidate.save(out, format="PNG", optimize=True)
            encoded = out.getvalue()
            if len(encoded) <= LOGO_MAX_BYTES:
                return encoded
    return encoded
