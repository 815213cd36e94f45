"""Complaints: the customer's pages in their personal space, and the desk's queue and page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tessera.core.ratelimit import rate_limited

from . import complaint_selectors as selectors
from . import complaint_services as services
from .complaint_files import MAX_TOTAL_BYTES
from .complaint_forms import ComplaintForm, DeskAnswerForm, DeskComplaintUpdateForm, ReopenForm
from .complaints import Complaint
from .views import desk_permission

# Room for the form's fields and the multipart framing around the files.
BODY_LIMIT = MAX_TOTAL_BYTES + 64 * 1024


def _missing(request):
    return render(request, "support/complaints/missing.html", status=404)


def _file_response(attachment) -> HttpResponse:
    response = HttpResponse(bytes(attachment.content), content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition_header(True, attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@never_cache
@login_required
@require_GET
def complaint_list(request):
    return render(
        request,
        "support/complaints/list.html",
        {"complaints": selectors.complaints_of(user=request.user), "deadline_days": services.deadline_days()},
    )


def _new_page(request, form, *, error="", status=200):
    return render(
        request,
        "support/complaints/new.html",
        {"form": form, "error": error, "deadline_days": services.deadline_days()},
        status=status,
    )


@never_cache
@login_required
@rate_limited("support.complaint", limit=10, period=3600)
@require_http_methods(["GET", "POST"])
def complaint_new(request):
    if request.method == "GET":
        return _new_page(request, ComplaintForm())
    # Refused before the body is parsed: a 50 MB upload is never read.
    if int(request.META.get("CONTENT_LENGTH") or 0) > BODY_LIMIT:
        error = _("The files weigh more than 10 MB together.")
        return _new_page(request, ComplaintForm(), error=error, status=413)
    form = ComplaintForm(request.POST, request.FILES)
    if not form.is_valid():
        return _new_page(request, form, status=400)
    try:
        complaint = services.complaint_file(
            author=request.user,
            category=form.cleaned_data["category"],
            description=form.cleaned_data["description"],
            files=form.cleaned_data["attachments"],
            language=translation.get_language() or "fr",
        )
    except ValidationError as error:
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _new_page(request, form, status=400)
    messages.success(request, _("Your complaint was filed. We sent you an acknowledgement by email."))
    return redirect("support:complaint", public_id=complaint.public_id)


def _detail_page(request, complaint, *, form=None, error="", status=200):
    return render(
        request,
        "support/complaints/detail.html",
        {
            "complaint": complaint,
            "history": selectors.complaint_history(complaint=complaint),
            "files": selectors.complaint_files(complaint=complaint),
            "can_reopen": complaint.status == Complaint.Status.ANSWERED and complaint.reopened_at is None,
            "form": form or ReopenForm(),
            "error": error,
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def complaint_detail(request, public_id: str):
    complaint = selectors.complaint_of(user=request.user, public_id=public_id)
    if complaint is None:
        return _missing(request)
    return _detail_page(request, complaint)


@never_cache
@login_required
@require_POST
def complaint_reopen(request, public_id: str):
    complaint = selectors.complaint_of(user=request.user, public_id=public_id)
    if complaint is None:
        return _missing(request)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, complaint, form=form, status=400)
    try:
        services.complaint_reopen(
            complaint=complaint, author=request.user, reason=form.cleaned_data["reason"]
        )
    except services.ComplaintError as error:
        return _detail_page(request, complaint, form=form, error=str(error), status=409)
    messages.success(request, _("Your complaint is open again. We will answer by the new deadline."))
    return redirect("support:complaint", public_id=public_id)


@never_cache
@login_required
@require_GET
def complaint_attachment(request, public_id: str, pk: int):
    complaint = selectors.complaint_of(user=request.user, public_id=public_id)
    attachment = complaint and selectors.complaint_attachment(complaint=complaint, pk=pk)
    if not attachment:
        return _missing(request)
    return _file_response(attachment)


@never_cache
@desk_permission("support.view_complaint")
@require_GET
def desk_complaints(request):
    status = request.GET.get("status", "")
    counts = selectors.complaint_counts()
    return render(
        request,
        "support/complaints/desk_queue.html",
        {
            "complaints": selectors.complaint_queue(status=status),
            "counts": [(value, label, counts[value]) for value, label in Complaint.Status.choices],
            "status": status,
        },
    )


def _desk_page(request, complaint, *, answer_form=None, update_form=None, error="", status=200):
    return render(
        request,
        "support/complaints/desk_complaint.html",
        {
            "complaint": complaint,
            "history": selectors.complaint_history(complaint=complaint),
            "files": selectors.complaint_files(complaint=complaint),
            "answer_form": answer_form or DeskAnswerForm(),
            "update_form": update_form
            or DeskComplaintUpdateForm(
                initial={"status": complaint.status, "assignee": complaint.assignee_id}
            ),
            "can_change": request.user.has_perm("support.change_complaint"),
            "error": error,
        },
        status=status,
    )


@never_cache
@desk_permission("support.view_complaint")
@require_GET
def desk_complaint(request, pk: int):
    complaint = selectors.complaint_get(pk=pk)
    if complaint is None:
        return _missing(request)
    services.complaint_read_record(complaint=complaint, actor=request.user, request=request)
    return _desk_page(request, complaint)


@never_cache
@desk_permission("support.view_complaint")
@require_GET
def desk_complaint_attachment(request, pk: int, attachment_id: int):
    complaint = selectors.complaint_get(pk=pk)
    attachment = complaint and selectors.complaint_attachment(complaint=complaint, pk=attachment_id)
    if not attachment:
        return _missing(request)
    services.complaint_read_record(
        complaint=complaint, actor=request.user, request=request, attachment=attachment
    )
    return _file_response(attachment)


@never_cache
@desk_permission("support.change_complaint")
@require_POST
def desk_complaint_act(request, pk: int, action: str):
    """One desk action on a complaint: `answer`, or `update` (status and assignee)."""
    complaint = selectors.complaint_get(pk=pk)
    if complaint is None:
        return _missing(request)
    form_class = {"answer": DeskAnswerForm, "update": DeskComplaintUpdateForm}[action]
    form = form_class(request.POST)
    if not form.is_valid():
        return _desk_page(request, complaint, **{f"{action}_form": form}, status=400)
    data = form.cleaned_data
    try:
        if action == "answer":
            services.complaint_answer(
                complaint=complaint, actor=request.user, body=data["message"], request=request
            )
            messages.success(request, _("Your answer was emailed to the customer."))
        else:
            services.complaint_update(
                complaint=complaint,
                actor=request.user,
                status=data["status"],
                assignee=data["assignee"],
                request=request,
            )
            messages.success(request, _("The complaint was updated."))
    except services.ComplaintError as error:
        return _desk_page(request, complaint, answer_form=form, error=str(error), status=409)
    return redirect("support:desk_complaint", pk=complaint.pk)
