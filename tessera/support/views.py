"""The contact form and the sender's thread (no cookie, no account), and the staff desk."""

from functools import wraps

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tessera.core import pow
from tessera.core.http import cookie_free
from tessera.core.ratelimit import rate_limited

from . import selectors, services
from .forms import SUBJECT_LIMIT, ContactForm, DeskNoteForm, DeskReplyForm, DeskUpdateForm, ReplyForm
from .models import MESSAGE_LIMIT, Ticket


def _same_origin_referrer(view):
    """Form pages: under `no-referrer` Chromium posts `Origin: null`; `same-origin` sends nothing elsewhere."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "same-origin"
        return response

    return wrapped


def _contact_page(request, form: ContactForm, *, status: int = 200):
    # Every rendering carries a fresh challenge: a refused one may already be spent.
    if form.is_bound:
        data = form.data.copy()
        data["challenge"], data["nonce"] = pow.challenge_issue(scope=services.CONTACT_SCOPE), ""
        form.data = data
    else:
        form.initial["challenge"] = pow.challenge_issue(scope=services.CONTACT_SCOPE)
    return render(request, "support/contact.html", {"form": form, "bits": pow.difficulty()}, status=status)


def _prefill(values) -> dict:
    """What the assistant (or a link) asks the form to start with: a question, maybe a subject."""
    return {
        "subject": values.get("subject", "")[:SUBJECT_LIMIT],
        "message": values.get("q", "")[:MESSAGE_LIMIT],
    }


@cookie_free
@never_cache
@_same_origin_referrer
@rate_limited("support.contact", limit=10, period=3600)
@require_http_methods(["GET", "POST"])
def contact(request):
    if request.method == "GET":
        return _contact_page(request, ContactForm(initial=_prefill(request.GET)))
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            ticket = services.ticket_create(
                data=form.cleaned_data,
                challenge=form.cleaned_data["challenge"],
                nonce=form.cleaned_data["nonce"],
                language=translation.get_language() or "fr",
            )
        except ValidationError as error:
            for message in error.message_dict.get("__all__", []):
                form.add_error(None, message)
        else:
            return render(request, "support/contact_sent.html", {"email": ticket.email})
    return _contact_page(request, form, status=400)


@cookie_free
@csrf_exempt  # it stores nothing: a forged post only fills a form in the poster's own browser
@never_cache
@_same_origin_referrer
@require_POST
def contact_prefill(request):
    """The assistant's way to open the form with a question, without putting it in an address."""
    return _contact_page(request, ContactForm(initial=_prefill(request.POST)))


def _invalid_link(request):
    return render(request, "support/link_invalid.html", status=404)


def _thread_page(request, ticket, key, *, form=None, notice="", error="", status=200):
    return render(
        request,
        "support/thread.html",
        {
            "ticket": ticket,
            "thread": selectors.ticket_thread(ticket=ticket),
            "key": key,
            "form": form or ReplyForm(),
            "closed": ticket.status == Ticket.Status.CLOSED,
            "notice": notice,
            "error": error,
        },
        status=status,
    )


@cookie_free
@never_cache
@_same_origin_referrer
@rate_limited("support.thread", limit=30, period=600)
@require_http_methods(["GET", "POST"])
def thread(request, public_id: str):
    """GET: a page whose script posts the token of the link's fragment. POST: the thread, or an answer."""
    if request.method == "GET":
        return render(request, "support/thread_open.html", {"public_id": public_id})
    key = request.POST.get("key", "")
    ticket = selectors.ticket_for_link(public_id=public_id, token=key)
    if ticket is None:
        return _invalid_link(request)
    if request.POST.get("action") != "reply":
        return _thread_page(request, ticket, key)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _thread_page(request, ticket, key, form=form, status=400)
    try:
        services.ticket_customer_reply(ticket=ticket, body=form.cleaned_data["message"])
    except services.TicketClosed:
        error = _(
            "This request is closed: your answer was not sent. Write to us again through the contact form."
        )
        return _thread_page(request, ticket, key, form=form, error=error, status=409)
    ticket.refresh_from_db()
    return _thread_page(request, ticket, key, notice=_("Your answer was sent. We will reply by email."))


def desk_permission(permission: str):
    """Staff only (else the back-office sign-in), and the named permission (else 403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return staff_member_required(wrapped)

    return decorator


@never_cache
@desk_permission("support.view_ticket")
@require_GET
def desk_queue(request):
    status = request.GET.get("status", "")
    assignee = request.GET.get("assignee", "")
    counts = selectors.ticket_counts()
    return render(
        request,
        "support/desk_queue.html",
        {
            "tickets": selectors.ticket_queue(status=status, assignee=assignee),
            "counts": [(value, label, counts[value]) for value, label in Ticket.Status.choices],
            "staff": selectors.staff_members(),
            "status": status,
            "assignee": assignee,
        },
    )


def _desk_ticket_page(request, ticket, *, reply_form=None, note_form=None, update_form=None, status=200):
    return render(
        request,
        "support/desk_ticket.html",
        {
            "ticket": ticket,
            "thread": selectors.ticket_thread(ticket=ticket),
            "notes": selectors.ticket_notes(ticket=ticket),
            "reply_form": reply_form or DeskReplyForm(),
            "note_form": note_form or DeskNoteForm(),
            "update_form": update_form
            or DeskUpdateForm(initial={"status": ticket.status, "assignee": ticket.assignee_id}),
            "can_change": request.user.has_perm("support.change_ticket"),
        },
        status=status,
    )


@never_cache
@desk_permission("support.view_ticket")
@require_GET
def desk_ticket(request, pk: int):
    ticket = selectors.ticket_get(pk=pk)
    if ticket is None:
        return render(request, "support/desk_missing.html", status=404)
    services.ticket_read_record(ticket=ticket, actor=request.user, request=request)
    return _desk_ticket_page(request, ticket)


@never_cache
@desk_permission("support.change_ticket")
@require_POST
def desk_ticket_act(request, pk: int, action: str):
    """One desk action on a ticket: `reply`, `update` (status and assignee) or `note`."""
    ticket = selectors.ticket_get(pk=pk)
    if ticket is None:
        return render(request, "support/desk_missing.html", status=404)
    form_class = {"reply": DeskReplyForm, "update": DeskUpdateForm, "note": DeskNoteForm}[action]
    form = form_class(request.POST)
    if not form.is_valid():
        return _desk_ticket_page(request, ticket, **{f"{action}_form": form}, status=400)
    data = form.cleaned_data
    if action == "reply":
        services.ticket_staff_reply(ticket=ticket, actor=request.user, body=data["message"], request=request)
        messages.success(request, _("Your answer was emailed to the sender."))
    elif action == "update":
        services.ticket_update(
            ticket=ticket,
            actor=request.user,
            status=data["status"],
            assignee=data["assignee"],
            request=request,
        )
        messages.success(request, _("The ticket was updated."))
    else:
        services.ticket_note_add(ticket=ticket, actor=request.user, body=data["note"])
        messages.success(request, _("Your note was added."))
    return redirect("support:desk_ticket", pk=ticket.pk)
