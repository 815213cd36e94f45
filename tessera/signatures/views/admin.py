"""The organisation's signatures, for its administrators: templates, live preview, Outlook ZIP, export."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .. import selectors
from ..forms import PreviewForm, TemplateForm
from ..models import SignatureTemplate
from ..outlook import file_stem
from ..rendering import logo_src, sample_profile, signature_render
from ..services.exports import signatures_outlook_export
from ..services.templates import STARTER_HTML, signature_template_delete, signature_template_save
from ..validation import PLACEHOLDERS
from .access import administered, frame, frame_render


def _template_or_404(organisation, pk) -> SignatureTemplate:
    template = selectors.template_get(organisation=organisation, pk=pk)
    if template is None:
        raise Http404
    return template


@login_required
@never_cache
@require_GET
def signatures(request, org_slug):
    organisation = administered(request, org_slug)
    return render(
        request,
        "signatures/org_signatures.html",
        {
            "organisation": organisation,
            "templates": selectors.templates_of(organisation=organisation),
            "members": selectors.member_signatures(organisation=organisation),
        },
    )


@login_required
@never_cache
def template_edit(request, org_slug, pk=None):
    organisation = administered(request, org_slug)
    template = _template_or_404(organisation, pk) if pk else None
    if request.method == "POST":
        form = TemplateForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                template = signature_template_save(
                    organisation=organisation, actor=request.user, template=template, request=request,
                    **form.values(),
                )  # fmt: skip
            except ValidationError as error:
                for name, found in error.message_dict.items():
                    for message in found:
                        form.add_error(name if name in form.fields else None, message)
            else:
                messages.success(request, _("The signature template was saved."))
                return redirect("signatures:template", org_slug=org_slug, pk=template.pk)
    else:
        initial = TemplateForm.initial_for(template) if template else {"html": STARTER_HTML}
        form = TemplateForm(initial=initial)
    profiles = selectors.member_profiles(organisation=organisation)
    return render(
        request,
        "signatures/template_edit.html",
        {
            "organisation": organisation,
            "template": template,
            "logo_url": logo_src(template, inline=False) if template else "",
            "placeholders": PLACEHOLDERS,
            "form": form,
            "members": sorted(
                ((uid, p["full_name"]) for uid, p in profiles.items()), key=lambda m: m[1].lower()
            ),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def template_delete(request, org_slug, pk):
    organisation = administered(request, org_slug)
    signature_template_delete(
        template=_template_or_404(organisation, pk), actor=request.user, request=request
    )
    messages.success(request, _("The signature template was deleted."))
    return redirect("signatures:signatures", org_slug=org_slug)


@login_required
@never_cache
@require_POST
@frame
def preview(request, org_slug):
    """The template being edited, rendered for a member (or a sample one) as a mail client would show it."""
    organisation = administered(request, org_slug)
    form = PreviewForm(request.POST)
    if not form.is_valid():
        return frame_render(request, errors=[_("The preview could not be made.")], status=400)
    data = form.cleaned_data
    mode = data["mode"] or "gmail"
    saved = _template_or_404(organisation, data["template"]) if data["template"] else None
    template = SignatureTemplate(organisation=organisation, html=data["html"])
    if saved is not None:  # the saved logo, at its real address
        template.public_id, template.logo = saved.public_id, saved.logo
    profile = None
    if data["member"]:
        profile = selectors.member_profiles(organisation=organisation, user_ids=[data["member"]]).get(
            data["member"]
        )
    try:
        signature = signature_render(
            template=template,
            profile=profile or sample_profile(organisation_name=organisation.name),
            organisation_name=organisation.name,
            inline=data["inline_logo"],
        )
    except ValidationError as error:  # the template's rules, or the member's values (SignatureRefused)
        return frame_render(request, errors=error.messages, mode=mode)
    return frame_render(request, signature=signature, mode=mode)


@login_required
@never_cache
@require_GET
def outlook(request, org_slug):
    organisation = administered(request, org_slug)
    content = signatures_outlook_export(
        organisation=organisation,
        actor=request.user,
        language=translation.get_language() or "fr",
        request=request,
    )
    response = HttpResponse(content, content_type="application/zip")
    name = f"{file_stem(organisation.name)} - Outlook signatures.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@never_cache
@require_GET
def export(request, org_slug):
    """The organisation's export of its signature templates (JSON)."""
    organisation = administered(request, org_slug)
    body = {
        "organisation": organisation.name,
        "exported_at": timezone.now().isoformat(),
        "signature_templates": selectors.templates_export(organisation=organisation),
    }
    response = HttpResponse(json.dumps(body, ensure_ascii=False, indent=2), content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="{file_stem(organisation.name)} - signatures.json"'
    )
    return response
