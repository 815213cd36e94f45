"""Testimonials: the author's pages in their personal space, the desk's review, the site's photos."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tessera.core.http import cookie_free
from tessera.core.ratelimit import rate_limited

from . import testimonial_selectors as selectors
from . import testimonial_services as services
from .testimonial_forms import DeskApproveForm, DeskProposeForm, DeskRejectForm, TestimonialForm
from .testimonial_photos import MAX_PHOTO_BYTES
from .testimonials import Testimonial
from .views import desk_permission

# Room for the text fields and the multipart framing around the photo.
BODY_LIMIT = MAX_PHOTO_BYTES + 64 * 1024
PHOTO_CACHE = "public, max-age=3600"


def _missing(request):
    return render(request, "support/testimonials/missing.html", status=404)


def _photo_response(content: bytes, *, cache: str) -> HttpResponse:
    response = HttpResponse(content, content_type="image/jpeg")
    response["Cache-Control"] = cache
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@never_cache
@login_required
@require_GET
def testimonial_list(request):
    return render(
        request,
        "support/testimonials/list.html",
        {"testimonials": selectors.testimonials_of(user=request.user)},
    )


def _new_page(request, form, *, error="", status=200):
    return render(request, "support/testimonials/new.html", {"form": form, "error": error}, status=status)


def _form(request, data=None, files=None) -> TestimonialForm:
    organisations = list(selectors.organisations_spoken_for(user=request.user))
    initial = {"name": request.user.full_name}
    if organisations:
        initial.update(speak_for=str(organisations[0].pk), company=organisations[0].name)
    return TestimonialForm(data, files, organisations=organisations, initial=initial)


@never_cache
@login_required
@rate_limited("support.testimonial", limit=10, period=3600)
@require_http_methods(["GET", "POST"])
def testimonial_new(request):
    if request.method == "GET":
        return _new_page(request, _form(request))
    # Refused before the body is parsed: a 50 MB upload is never read.
    if int(request.META.get("CONTENT_LENGTH") or 0) > BODY_LIMIT:
        return _new_page(
            request, _form(request), error=_("The photo is too large: at most 2 MB."), status=413
        )
    form = _form(request, request.POST, request.FILES)
    if not form.is_valid():
        return _new_page(request, form, status=400)
    data = form.cleaned_data
    try:
        testimonial = services.testimonial_submit(
            author=request.user,
            organisation=data.get("speak_for"),
            text=data["text"],
            name=data["name"],
            role=data["role"],
            company=data["company"],
            photo=data["photo"],
            consent_given=data["consent"],
            language=translation.get_language() or "fr",
        )
    except ValidationError as error:
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _new_page(request, form, status=400)
    messages.success(request, _("Thank you! We will read your testimonial and tell you by email."))
    return redirect("support:testimonial", public_id=testimonial.public_id)


def _detail_page(request, testimonial, *, error="", status=200):
    return render(
        request,
        "support/testimonials/detail.html",
        {"testimonial": testimonial, "error": error},
        status=status,
    )


@never_cache
@login_required
@require_GET
def testimonial_detail(request, public_id: str):
    testimonial = selectors.testimonial_of(user=request.user, public_id=public_id)
    if testimonial is None:
        return _missing(request)
    return _detail_page(request, testimonial)


@never_cache
@login_required
@require_POST
def testimonial_act(request, public_id: str, action: str):
    """The author's answer: `accept` or `refuse` staff's edit, or `withdraw` the testimonial."""
    testimonial = selectors.testimonial_of(user=request.user, public_id=public_id)
    if testimonial is None:
        return _missing(request)
    try:
        if action == "withdraw":
            services.testimonial_withdraw(testimonial=testimonial, author=request.user)
            messages.success(request, _("Your testimonial is withdrawn: it is no longer on our site."))
        else:
            accept = action == "accept"
            services.testimonial_proposal_answer(testimonial=testimonial, author=request.user, accept=accept)
            messages.success(
                request,
                _("The edited text is published.")
                if accept
                else _("You kept your text: our team will review it again."),
            )
    except services.TestimonialError as error:
        return _detail_page(request, testimonial, error=str(error), status=409)
    return redirect("support:testimonial", public_id=public_id)


@never_cache
@login_required
@require_GET
def testimonial_own_photo(request, public_id: str):
    testimonial = selectors.testimonial_of(user=request.user, public_id=public_id)
    content = testimonial and selectors.testimonial_photo(testimonial=testimonial)
    if not content:
        return _missing(request)
    return _photo_response(content, cache="private, no-store")


@cookie_free
@require_GET
def testimonial_public_photo(request, public_id: str, version: str):
    """A published testimonial's photo, from our origin: the site loads nothing from anyone else."""
    content = selectors.testimonial_public_photo(public_id=public_id, version=version)
    if content is None:
        response = HttpResponse(status=404, content_type="text/plain")
        response["Cache-Control"] = "no-store"
        return response
    return _photo_response(content, cache=PHOTO_CACHE)


@never_cache
@desk_permission("support.view_testimonial")
@require_GET
def desk_testimonials(request):
    status = request.GET.get("status", "")
    counts = selectors.testimonial_counts()
    return render(
        request,
        "support/testimonials/desk_queue.html",
        {
            "testimonials": selectors.testimonial_queue(status=status),
            "counts": [(value, label, counts[value]) for value, label in Testimonial.Status.choices],
            "status": status,
        },
    )


def _desk_page(
    request, testimonial, *, propose_form=None, reject_form=None, approve_form=None, error="", status=200
):
    return render(
        request,
        "support/testimonials/desk_testimonial.html",
        {
            "testimonial": testimonial,
            "propose_form": propose_form or DeskProposeForm(initial={"text": testimonial.text}),
            "reject_form": reject_form or DeskRejectForm(),
            "can_change": request.user.has_perm("support.change_testimonial"),
            "error": error,
        },
        status=status,
    )


@never_cache
@desk_permission("support.view_testimonial")
@require_GET
def desk_testimonial(request, pk: int):
    testimonial = selectors.testimonial_get(pk=pk)
    if testimonial is None:
        return _missing(request)
    services.testimonial_read_record(testimonial=testimonial, actor=request.user, request=request)
    return _desk_page(request, testimonial)


@never_cache
@desk_permission("support.view_testimonial")
@require_GET
def desk_testimonial_photo(request, pk: int):
    testimonial = selectors.testimonial_get(pk=pk)
    content = testimonial and selectors.testimonial_photo(testimonial=testimonial)
    if not content:
        return _missing(request)
    services.testimonial_read_record(testimonial=testimonial, actor=request.user, request=request, photo=True)
    return _photo_response(content, cache="private, no-store")


@never_cache
@desk_permission("support.change_testimonial")
@require_POST
def desk_testimonial_act(request, pk: int, action: str):
    """One desk decision on a testimonial: `approve`, `reject` (with a reason) or `propose` an edit."""
    testimonial = selectors.testimonial_get(pk=pk)
    if testimonial is None:
        return _missing(request)
    form_class = {"approve": DeskApproveForm, "reject": DeskRejectForm, "propose": DeskProposeForm}[action]
    form = form_class(request.POST)
    if not form.is_valid():
        return _desk_page(request, testimonial, **{f"{action}_form": form}, status=400)
    data = form.cleaned_data
    try:
        if action == "approve":
            services.testimonial_approve(testimonial=testimonial, actor=request.user, request=request)
            messages.success(request, _("The testimonial is published; its author was told by email."))
        elif action == "reject":
            services.testimonial_reject(
                testimonial=testimonial, actor=request.user, reason=data["reason"], request=request
            )
            messages.success(request, _("The testimonial is not published; its author was told why."))
        else:
            services.testimonial_propose(
                testimonial=testimonial,
                actor=request.user,
                text=data["text"],
                message=data["message"],
                request=request,
            )
            messages.success(request, _("Your edit was sent to the author, who must accept it."))
    except ValidationError as error:
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _desk_page(request, testimonial, **{f"{action}_form": form}, status=400)
    except services.TestimonialError as error:
        return _desk_page(request, testimonial, error=str(error), status=409)
    return redirect("support:desk_testimonial", pk=testimonial.pk)
