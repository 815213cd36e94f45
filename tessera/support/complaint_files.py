"""Attachments of a complaint: allowed by their content (PDF, PNG, JPEG, plain text), never by their name."""

import io
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from PIL import Image

MAX_FILES = 3
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 10 * 1024 * 1024
HEAD = 4096

# Magic numbers of executables and archives: refused whatever the name says.
EXECUTABLE = (
    b"\x7fELF",  # Linux
    b"MZ",  # Windows PE
    b"\xfe\xed\xfa\xce",  # Mach-O, both word sizes and byte orders, and fat binaries
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",  # a script
    b"PK\x03\x04",  # ZIP, and with it Office files and jars
    b"\x1f\x8b",  # gzip
    b"Rar!",
    b"7z\xbc\xaf",
    b"BZh",
    b"\xfd7zXZ",
)
MARKUP = re.compile(rb"<\s*(!doctype|html|svg|script|\?xml|iframe|body)", re.IGNORECASE)
PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|OpenAction|AA)\b")
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "text/plain": ".txt"}


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str
    content: bytes


def _refused(name: str, reason: str) -> ValidationError:
    return ValidationError(
        _("“%(name)s” was refused: %(reason)s") % {"name": name, "reason": reason}, code="attachment"
    )


def _image(content: bytes) -> bool:
    try:
        Image.open(io.BytesIO(content)).verify()
    except Exception:  # any decoding failure: it is not the image it claims
        return False
    return True


def content_type_of(name: str, content: bytes) -> str:
    """The type the bytes really are, or ValidationError for anything not allowed."""
    head = content[:HEAD]
    if head.startswith(EXECUTABLE):
        raise _refused(name, _("executable files and archives are not accepted."))
    if head.startswith(b"%PDF-"):
        if PDF_ACTIVE.search(content):
            raise _refused(name, _("this PDF contains scripts, actions or embedded files."))
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n") and _image(content):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff") and _image(content):
        return "image/jpeg"
    if b"\x00" not in content:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and not MARKUP.search(content):
            return "text/plain"
        if text is not None:
            raise _refused(name, _("web pages and SVG images are not accepted."))
    raise _refused(name, _("only PDF, PNG, JPEG and plain text files are accepted."))


def _safe_name(name: str, content_type: str) -> str:
    stem = get_valid_filename((name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).rsplit(".", 1)[0]
    return (stem[:80] or "file") + EXTENSIONS[content_type]


def attachments_check(files) -> list[CheckedFile]:
    """Check uploaded files: count and sizes first (nothing read), then each one's content."""
    files = [f for f in files if f]
    if len(files) > MAX_FILES:
        raise ValidationError(_("At most 3 files can be attached."), code="attachments")
    for upload in files:
        if upload.size > MAX_FILE_BYTES:
            raise _refused(upload.name, _("a file may weigh at most 5 MB."))
    if sum(upload.size for upload in files) > MAX_TOTAL_BYTES:
        raise ValidationError(_("The files weigh more than 10 MB together."), code="attachments")
    checked = []
    for upload in files:
        upload.seek(0)
        content = upload.read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:
            raise _refused(upload.name, _("a file may weigh at most 5 MB."))
        content_type = content_type_of(upload.name, content)
        checked.append(CheckedFile(_safe_name(upload.name, content_type), content_type, content))
    return checked
