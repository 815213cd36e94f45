"""Images of signatures, fetched when an email is opened: no cookie, nothing counted, cached for good.

An opened email must not become a tracking pixel: these views read no session, write nothing and log
nothing about the reader; their addresses change only when the image does.
"""

from django.core import signing
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from tessera.core.http import cookie_free

from ..rendering import qr_png
from ..selectors import template_public

FOREVER = "public, max-age=31536000, immutable"


def _image(content: bytes, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Cache-Control"] = FOREVER
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # mail clients show it on their own origin
    return response


@cookie_free
@require_GET
def logo(request, public_id, version):
    template = template_public(public_id=public_id)
    if template is None:
        raise Http404
    return _image(bytes(template.logo), "image/png")


@cookie_free
@require_GET
def qr(request, token):
    try:
        return _image(qr_png(token), "image/png")
    except signing.BadSignature:
        raise Http404 from None
