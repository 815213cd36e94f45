"""Photo and logo uploads: the real type is read from the bytes, EXIF is dropped by re-encoding."""

import io

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = {"JPEG": {"jpg", "jpeg"}, "PNG": {"png"}, "WEBP": {"webp"}}
PHOTO_SIZES = {"photo": 512, "photo_small": 256}


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


def _jpeg(image: Image.Image, size: int) -> bytes:
    fitted = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A fresh RGB image carries no EXIF, XMP or ICC metadata of the original.
    fitted.save(out, format="JPEG", quality=80, optimize=True, progressive=True)
    return out.getvalue()


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
    return {name: _jpeg(clean, size) for name, size in PHOTO_SIZES.items()}


def logo_png(data: bytes, filename: str = "") -> bytes:
    """Validate a logo and return it as a PNG at most 320 px wide, without metadata."""
    image = _open(data, filename).convert("RGBA")
    image.thumbnail((320, 160), Image.Resampling.LANCZOS)
    clean = Image.new("RGBA", image.size)
    clean.paste(image)
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return out.getvalue()
