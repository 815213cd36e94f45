"""Photo and logo uploads: the real type is read from the bytes, EXIF is dropped by re-encoding."""

import io
import threading
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# A photo as cameras take it: 24 megapixels covers 12-24 MP cameras and phones (whose 48 MP sensors
# save 12 MP photos unless told otherwise). A card shows 512 px at most.
MAX_PIXELS = 24_000_000
# What decoding and the one reduction may hold, estimated from the header before anything is decoded
# (`_decode_check`). Decoding is most of an upload's time as well as its memory: 16 MB keeps both within
# budget (64 MB and 150 ms an upload): 4 MP for an opaque PNG, 2 MP with transparency, 1 MP for WebP,
# about 5 MP for a progressive JPEG, and 24 MP for a JPEG photo, decoded already scaled down.
MAX_DECODE_BYTES = 16 * 1024 * 1024
ALLOWED_FORMATS = {"JPEG": {"jpg", "jpeg"}, "PNG": {"png"}, "WEBP": {"webp"}}
PHOTO_SIZES = {"photo": 512, "photo_small": 256}
# The public card page and the vCard carry `photo_small`, the page shows the template's logo: both are
# encoded to stay within these sizes, so the page (HTML, CSS, script, one font, photo, logo) stays under
# 50 KB whatever people upload. Quality steps down first, then the pixel size.
PHOTO_SMALL_MAX_BYTES = 10 * 1024
LOGO_MAX_BYTES = 8 * 1024
# Image work at once in this process (each up to 64 MB and one core); more uploads wait for a turn.
IMAGE_WORKERS = 2
IMAGE_WAIT_SECONDS = 10
_image_work = threading.BoundedSemaphore(IMAGE_WORKERS)
# EXIF orientation -> the transposition that shows the image upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_REDUCIBLE = {"L", "LA", "RGB", "RGBA", "CMYK", "I", "F"}


class ImageBusy(ValidationError):
    """Every image worker stayed busy while this upload waited: the person may try again shortly."""


@contextmanager
def image_work():
    """A turn among IMAGE_WORKERS: decoding is bounded per upload, this bounds it per process."""
    if not _image_work.acquire(timeout=IMAGE_WAIT_SECONDS):
        raise ImageBusy(
            _("Too many images are being processed right now. Try again in a minute."), code="busy"
        )
    try:
        yield
    finally:
        _image_work.release()


def _megapixels(pixels: int) -> str:
    return number_format(f"{pixels / 1_000_000:.1f}".removesuffix(".0"))


def _too_many_pixels(image: Image.Image, pixels: int, limit: int) -> ValidationError:
    return ValidationError(
        _(
            "This %(format)s image has too many pixels (%(megapixels)s megapixels): at most %(limit)s "
            "megapixels are accepted for it. Save it smaller and send it again."
        )
        % {
            "format": image.format,
            "megapixels": _megapixels(pixels),
            "limit": _megapixels(limit),
        },
        code="too_many_pixels",
    )


def _bytes_per_pixel(image: Image.Image) -> int:
    """Memory per pixel of the decoded upload and of its one reduction (see `_reduced`).

    Pillow keeps 1-byte modes at 1 byte a pixel (counted 2 here, for their decoding time) and the
    others at 4; a mode that cannot be reduced as it is gets converted first (4 more); reducing an
    image with transparency makes a premultiplied copy (4 more). Pillow decodes WebP through libwebp's
    own RGBA canvases before its copy: about 16 in all (measured by bench/photo_upload.py).
    """
    if image.format == "WEBP":
        return 16
    stored = 2 if image.mode in ("1", "L", "P") or image.mode.startswith("I;16") else 4
    converted = 0 if image.mode in _REDUCIBLE else 4
    premultiplied = 4 if image.has_transparency_data else 0
    return stored + converted + premultiplied


def _decode_check(image: Image.Image, full_size: tuple[int, int]) -> None:
    """Refuse, before decoding, an upload whose decoding would take more than MAX_DECODE_BYTES."""
    pixels = full_size[0] * full_size[1]
    if image.format == "JPEG":
        decoded = image.width * image.height * 4  # its draft: already scaled down
        if image.info.get("progressive") or image.info.get("progression"):
            # libjpeg keeps every coefficient of a progressive file at full size (2 bytes a sample).
            chroma = {2: 0.25, 1: 0.5}.get(JpegImagePlugin.get_sampling(image), 1.0)
            decoded += int(pixels * 2 * (1 + 2 * chroma if image.layers == 3 else image.layers))
        per_pixel = decoded / pixels
    else:
        per_pixel = _bytes_per_pixel(image)
    if pixels * per_pixel > MAX_DECODE_BYTES:
        raise _too_many_pixels(image, pixels, int(MAX_DECODE_BYTES / per_pixel))


def _open(data: bytes, filename: str, *, side: int) -> Image.Image:
    """The upload decoded at no less than `side` pixels a side where the format allows it (JPEG)."""
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
            raise _too_many_pixels(image, image.width * image.height, MAX_PIXELS)
        full_size = image.size
        image.verify()  # checks the file's structure; the image must be opened again afterwards
        image = Image.open(io.BytesIO(data))
        if image_format == "JPEG":
            image.draft("RGB", (side, side))  # decoded scaled down in the DCT: a fraction of the work
        _decode_check(image, full_size)
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


def _reduced(image: Image.Image, side: int) -> Image.Image:
    """Upright, in RGB or RGBA, reduced once (box filter) to no less than `side` on its short side."""
    orientation = image.getexif().get(0x0112)
    if image.mode not in _REDUCIBLE:
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    factor = min(image.size) // side
    if factor >= 2:
        image = image.reduce(factor)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    if orientation in _UPRIGHT:
        image = image.transpose(_UPRIGHT[orientation])
    return image


def _jpeg(image: Image.Image, size: int, quality: int = 80) -> bytes:
    fitted = image if image.size == (size, size) else image.resize((size, size), Image.Resampling.LANCZOS)
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
    """Validate an uploaded photo and return its square JPEG variants, stripped of metadata.

    The upload is decoded and reduced once; both variants come from one 512 px square.
    """
    largest = PHOTO_SIZES["photo"]
    with image_work():
        image = _reduced(_open(data, filename, side=largest), largest)
        square = ImageOps.fit(image, (largest, largest), method=Image.Resampling.LANCZOS)
        clean = Image.new("RGB", square.size, (255, 255, 255))
        if square.mode == "RGBA":
            clean.paste(square, mask=square.getchannel("A"))
        else:
            clean.paste(square)
        small = clean.resize((PHOTO_SIZES["photo_small"],) * 2, Image.Resampling.LANCZOS)
        return {
            "photo": _jpeg(clean, largest),
            "photo_small": _jpeg_within(small, PHOTO_SIZES["photo_small"], PHOTO_SMALL_MAX_BYTES),
        }


def logo_png(data: bytes, filename: str = "") -> bytes:
    """Validate a logo and return it as a PNG at most 320 px wide, without metadata."""
    with image_work():
        image = _reduced(_open(data, filename, side=320), 320).convert("RGBA")
        return _logo_within(image)


def _logo_within(image: Image.Image) -> bytes:
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
