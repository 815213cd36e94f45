"""A member's own signature, in their personal space: see it, copy it, download it."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import selectors
from ..forms import PreviewForm
from ..outlook import file_stem, signature_document
from .access import frame, frame_render, membership_of


def _mine(request, org_slug):
    organisation = membership_of(request, org_slug)
    return organisation, selectors.member_signature(organisation=organisation, user=request.user)


@login_required
@never_cache
@require_GET
def mine(request, org_slug):
    organisation, found = _mine(request, org_slug)
    return render(request, "signatures/mine.html", {"organisation": organisation, "found": found})


@login_required
@never_cache
@require_GET
@frame
def mine_frame(request, org_slug):
    _organisation, found = _mine(request, org_slug)
    if found is None or found.signature is None:
        raise Http404
    mode = request.GET.get("mode", "gmail")
    return frame_render(
        request, signature=found.signature, mode=mode if mode in PreviewForm.MODES else "gmail"
    )


@login_required
@never_cache
@require_GET
def mine_download(request, org_slug):
    organisation, found = _mine(request, org_slug)
    if found is None or found.signature is None:
        raise Http404
    stem = file_stem(organisation.name)
    document = signature_document(
        signature=found.signature, title=stem, language=translation.get_language() or "fr"
    )
    response = HttpResponse(document, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stem}.htm"'
    return response
