"""Customer files on the staff desk: the search, and one page per organisation or individual customer."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tessera.privacy.dpa import dpa_status

from . import customer_selectors as selectors
from . import customer_services as services
from .customer_forms import CustomerContactForm, CustomerFileForm, CustomerNoteForm
from .customers import CustomerFile
from .views import desk_permission

VIEW, CHANGE = "support.view_customerfile", "support.change_customerfile"


def _missing(request):
    return render(request, "support/customers/missing.html", status=404)


def _file_url(file: CustomerFile) -> str:
    """A current customer's file lives at its organisation's or account's address, a former one's at its own."""
    if file.relationship_ended_at is not None:
        return reverse("support:desk_customer_file", kwargs={"pk": file.pk})
    if file.organisation_id is not None:
        return reverse("support:desk_customer_org", kwargs={"pk": file.organisation_id})
    if file.user_id is not None:
        return reverse("support:desk_customer_user", kwargs={"pk": file.user_id})
    return reverse("support:desk_customer_file", kwargs={"pk": file.pk})


def _file_initial(file: CustomerFile) -> dict:
    ended = file.relationship_ended_at
    return {
        "plan": file.plan,
        "contract_reference": file.contract_reference,
        "seats": file.seats,
        "contract_start": file.contract_start,
        "renewal_date": file.renewal_date,
        "relationship_ended_on": timezone.localdate(ended) if ended else None,
    }


def _file_page(request, file, *, file_form=None, contact_form=None, note_form=None, status=200):
    # Every rendering of a file shows its contents: each one is a read to log.
    services.customer_file_read_record(file=file, actor=request.user, request=request)
    return render(
        request,
        "support/customers/file.html",
        {
            "file": file,
            "file_url": _file_url(file),
            "since": selectors.customer_since(file=file),
            "seats_used": selectors.customer_seats_used(file=file),
            "contacts": selectors.customer_contacts(file=file),
            "notes": selectors.customer_notes(file=file),
            "timeline": selectors.customer_timeline(file=file),
            "dpa": dpa_status(organisation=file.organisation) if file.organisation_id else None,
            "file_form": file_form or CustomerFileForm(initial=_file_initial(file)),
            "contact_form": contact_form or CustomerContactForm(),
            "note_form": note_form or CustomerNoteForm(),
            "can_change": request.user.has_perm(CHANGE),
        },
        status=status,
    )


@never_cache
@desk_permission(VIEW)
@require_GET
def desk_customers(request):
    query = request.GET.get("q", "").strip()
    return render(
        request, "support/customers/list.html", {"q": query, **selectors.customer_search(query=query)}
    )


@never_cache
@desk_permission(VIEW)
@require_GET
def desk_customer_org(request, pk: int):
    organisation = selectors.customer_organisation_get(pk=pk)
    if organisation is None:
        return _missing(request)
    return _file_page(request, services.customer_file_open(organisation=organisation))


@never_cache
@desk_permission(VIEW)
@require_GET
def desk_customer_user(request, pk: int):
    user = selectors.customer_user_get(pk=pk)
    if user is None:
        return _missing(request)
    return _file_page(request, services.customer_file_open(user=user))


@never_cache
@desk_permission(VIEW)
@require_GET
def desk_customer_file(request, pk: int):
    """A former customer's file (their organisation or account may be gone); others have their own address."""
    file = selectors.customer_file_get(pk=pk)
    if file is None:
        return _missing(request)
    if file.relationship_ended_at is None:
        return redirect(_file_url(file))
    return _file_page(request, file)


def _ended_at(file: CustomerFile, day: datetime.date | None):
    """The form gives a day; an unchanged day keeps the recorded moment."""
    if day is None:
        return None
    if file.relationship_ended_at and timezone.localdate(file.relationship_ended_at) == day:
        return file.relationship_ended_at
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _form_errors(form, error: ValidationError, rename=None) -> None:
    for field, errors in error.message_dict.items():
        field = (rename or {}).get(field, field)
        form.add_error(field if field in form.fields else None, errors)


@never_cache
@desk_permission(CHANGE)
@require_POST
def desk_customer_act(request, pk: int, action: str):
    """One change to a file: `update` (contract, plan, dates), `contact` (add one) or `note`."""
    file = selectors.customer_file_get(pk=pk)
    if file is None:
        return _missing(request)
    form_class = {"update": CustomerFileForm, "contact": CustomerContactForm, "note": CustomerNoteForm}[
        action
    ]
    form = form_class(request.POST)
    page_form = {"update": "file_form", "contact": "contact_form", "note": "note_form"}[action]
    if not form.is_valid():
        return _file_page(request, file, **{page_form: form}, status=400)
    data = form.cleaned_data
    try:
        if action == "update":
            changes = {key: data[key] for key in services.EDITABLE if key in data}
            changes["relationship_ended_at"] = _ended_at(file, data["relationship_ended_on"])
            services.customer_file_update(file=file, changes=changes, actor=request.user, request=request)
            messages.success(request, _("The customer file was updated."))
        elif action == "contact":
            services.customer_contact_add(file=file, **data)
            messages.success(request, _("The contact was added."))
        else:
            services.customer_note_add(file=file, author=request.user, body=data["note"])
            messages.success(request, _("Your note was added."))
    except ValidationError as error:
        _form_errors(form, error, rename={"relationship_ended_at": "relationship_ended_on", "body": "note"})
        return _file_page(request, file, **{page_form: form}, status=400)
    return redirect(_file_url(file))


@never_cache
@desk_permission(CHANGE)
@require_POST
def desk_customer_contact_remove(request, pk: int, contact_id: int):
    file = selectors.customer_file_get(pk=pk)
    contact = file and selectors.customer_contacts(file=file).filter(pk=contact_id).first()
    if not contact:
        return _missing(request)
    services.customer_contact_remove(contact=contact)
    messages.success(request, _("The contact was removed."))
    return redirect(_file_url(file))
