import json
from datetime import UTC, timedelta

from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tessera.accounts.selectors import member_organisation
from tessera.core.audit import request_origin
from tessera.core.http import cookie_free
from tessera.core.ratelimit import ip_hash, limit_hit, too_many_requests

from . import links, selectors, services
from .conf import meetings_setting
from .forms import EventCreateForm, EventDetailsForm, InviteeAddForm


def _limited(request, scope: str, key: str):
    limit, period = meetings_setting(scope)
    verdict = limit_hit(scope=f"meetings.{scope}", key=key, limit=limit, period=period)
    return None if verdict.allowed else too_many_requests(request, verdict.retry_after)


@cookie_free
@never_cache
def event_create(request):
    organisation = member_organisation(user=getattr(request, "user", None))
    member_email = request.user.email if organisation else None
    if request.method == "POST":
        form = EventCreateForm(request.POST, member_email=member_email)
        refused = _limited(request, "create_per_ip", ip_hash(request))
        if refused:
            return refused
        if form.is_valid():
            email = form.cleaned_data["organiser_email"].strip().lower()
            refused = _limited(request, "create_per_organiser", email)
            if refused:
                return refused
            try:
                created = services.event_create(
                    **form.details(),
                    organiser_email=email,
                    invitees=form.cleaned_data["invitees"],
                    invitee_languages=form.invitee_languages,
                    language=form.cleaned_data["language"],
                    marketing_opt_in=form.cleaned_data["marketing_opt_in"],
                    age_confirmed=form.cleaned_data["age_confirmed"],
                    key_in_links=form.cleaned_data["key_in_links"],
                    large_meeting=form.cleaned_data.get("large_meeting", False),
                    room_secret=form.cleaned_data["room_secret"],
                    terms_accepted=True,  # the form says that creating the event accepts the terms
                    user=request.user,
                    organisation=organisation if member_email == email else None,
                    origin=request_origin(request),
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                return render(
                    request,
                    "meetings/created.html",
                    {
                        "event": created.event,
                        "key_until": _key_until(created.event),
                        "verified": created.event.verified_at is not None,
                        "manage_url": created.manage_url if created.event.verified_at else "",
                        "invitee_count": len(form.cleaned_data["invitees"]),
                    },
                )
        status = 400
    else:
        form = EventCreateForm(
            initial={"language": translation.get_language() or "fr"}, member_email=member_email
        )
        status = 200
    return render(
        request, "meetings/create.html", {"form": form, "member": bool(organisation)}, status=status
    )


@cookie_free
@never_cache
@require_POST
def event_instant(request):
    """ "Start a meeting now": a room with no title, no address and no account; its key is made by the page."""
    refused = _limited(request, "instant_per_ip", ip_hash(request))
    if refused:
        return refused
    language = translation.get_language() or "fr"
    created = services.event_instant_create(language=language if language in services.LANGUAGES else "fr")
    return render(
        request,
        "meetings/instant.html",
        {
            "event": created.event,
            "key_until": _key_until(created.event),
            # Neither carries the key: the page adds it to the organiser's link, never to the guests'.
            "manage_url": created.manage_url,
            "manage_token": created.manage_token,
            "guest_url": created.guest_url,
            "hours": created.event.duration_minutes // 60,
            "retention_days": meetings_setting("instant_retention_days"),
        },
    )


@cookie_free
@never_cache
@require_POST
def link_status(request, room_id: str):
    """Tell the page what its link allows now. The token comes in the body, never in a URL."""
    refused = _limited(request, "link_checks_per_ip", ip_hash(request))
    if refused:
        return JsonResponse({"state": "busy", "retry_after": refused["Retry-After"]}, status=429)
    try:
        token = str(json.loads(request.body or b"{}").get("token", ""))[:100]
    except (ValueError, AttributeError):
        token = ""
    now = timezone.now()
    invitation = selectors.invitation_by_token(room_id=room_id, token=token)
    state = selectors.link_state(invitation=invitation, now=now)
    body = {"state": state.state, "now": now.isoformat()}
    if state.state not in {"invalid"}:
        event = invitation.event
        body.update(
            title=event.title or _("Instant meeting"),
            description=event.description,
            time_zone=event.time_zone,
            opens_at=state.opens_at.isoformat() if state.opens_at else None,
            starts_at=state.starts_at.isoformat() if state.starts_at else None,
            ends_at=state.ends_at.isoformat() if state.ends_at else None,
            closes_at=state.closes_at.isoformat() if state.closes_at else None,
            # The page asks again then, not before: a waiting or open page costs one request per change.
            changes_at=state.changes_at.isoformat() if state.changes_at else None,
        )
    return JsonResponse(body)


def _key_until(event) -> str:
    """Until when the organiser's browser keeps the meeting key: a day after the meeting ends (0010)."""
    return (event.ends_at + timedelta(days=1)).astimezone(UTC).isoformat()


# --- management -------------------------------------------------------------------------------------


@cookie_free
@never_cache
def manage(request, public_id: str):
    """GET: a page whose script posts the token from the fragment. POST: the management page itself.

    The room secret is read only for an event whose links carry it, from the `room_secret` field the page's
    script adds to the forms that send emails; otherwise the page never posts it (decision 0010).
    """
    if request.method == "GET":
        return render(request, "meetings/manage_open.html", {"public_id": public_id})
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    refused = _limited(request, "manage_per_ip", ip_hash(request))
    if refused:
        return refused
    token, key_secret = links.split_key(request.POST.get("key", ""))
    event = selectors.event_for_manage(public_id=public_id, manage_token=token)
    if event is None:
        return _invalid_link(request)
    room_secret = (request.POST.get("room_secret", "") or key_secret) if event.key_in_links else ""
    action = request.POST.get("action", "open")
    notice, error, details_form, add_form = "", "", None, None
    try:
        notice, details_form, add_form = _manage_action(request, event, action, room_secret)
    except services.RoomSecretMismatch:
        error = _(
            "The links of this event carry the meeting key, and this page does not hold it or holds a wrong"
            " one: open the whole link from your email again, or paste the key."
        )
    except services.EventNotEditable:
        error = _("This event was cancelled or has ended: it can no longer be changed.")
    except ValidationError as problem:
        error = " ".join(m for messages in problem.message_dict.values() for m in messages)
    event.refresh_from_db()
    return _manage_render(request, event, token, notice, error, details_form, add_form)


def _manage_action(request, event, action, room_secret):
    """Run one management action; returns (notice, details form with errors, add form with errors)."""
    data = request.POST
    if action == "open":
        return "", None, None
    if action == "verify":
        sent = services.event_verify(event=event, room_secret=room_secret)
        return (
            _("Thank you: your address is confirmed and %(count)s invitations are on their way.")
            % {"count": sent},
            None,
            None,
        )
    if action == "update":
        form = EventDetailsForm(data)
        if not form.is_valid():
            return "", form, None
        try:
            changed = services.event_update(event=event, room_secret=room_secret, **form.details())
        except ValidationError as problem:
            form.add_service_errors(problem)
            return "", form, None
        return (
            (_("Saved. Every invitee receives the new details.") if changed else _("Nothing changed.")),
            None,
            None,
        )
    if action == "reminder":
        enabled = data.get("reminder") == "on"
        services.event_update(event=event, reminder_enabled=enabled)
        return (_("The reminder is on.") if enabled else _("The reminder is off.")), None, None
    if action == "add":
        form = InviteeAddForm(data, event_language=event.language)
        if not form.is_valid():
            return "", None, form
        services.invitation_add(
            event=event,
            email=form.cleaned_data["email"],
            language=form.cleaned_data["language"],
            room_secret=room_secret,
        )
        return _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}, None, None
    if action in {"remove", "resend", "guest_revoke"}:
        invitation = selectors.invitation_of_event(event=event, public_id=data.get("invitation", ""))
        if invitation is None:
            return "", None, None
        if action == "resend":
            services.invitation_resend(event=event, invitation=invitation, room_secret=room_secret)
            return _("Invitation sent again to %(email)s.") % {"email": invitation.email}, None, None
        services.invitation_remove(event=event, invitation=invitation)
        if action == "guest_revoke":
            return _("The guest link no longer works."), None, None
        return (
            _("%(email)s was removed; their link no longer works.") % {"email": invitation.email},
            None,
            None,
        )
    if action == "guest":
        services.guest_link_create(event=event, room_secret=room_secret)
        return _("A guest link was created. Its holders wait in the lobby until you admit them."), None, None
    if action == "cancel":
        if data.get("confirm") != "yes":
            raise ValidationError({"confirm": [_("Tick the box to confirm the cancellation.")]})
        services.event_cancel(event=event)
        return _("The event is cancelled. Every invitee was told."), None, None
    return "", None, None


def _manage_render(request, event, token, notice, error, details_form, add_form):
    zone = event.time_zone
    with timezone.override(zone):
        local_start = timezone.localtime(event.starts_at)
    if details_form is None:
        details_form = EventDetailsForm(
            initial={
                "title": event.title,
                "description": event.description,
                "date": local_start.date(),
                "time": local_start.time().replace(second=0, microsecond=0),
                "time_zone": zone,
                "duration_minutes": event.duration_minutes,
            }
        )
    invitations = list(selectors.invitations_active(event=event))
    # Without the key: the page's script adds it when the event's links carry it.
    guests = [
        {"invitation": invitation, "url": links.join_url(event=event, invitation=invitation)}
        for invitation in invitations
        if invitation.kind == invitation.Kind.GUEST
    ]
    now = timezone.now()
    return render(
        request,
        "meetings/manage.html",
        {
            "event": event,
            "key": token,
            "key_until": _key_until(event),
            "notice": notice,
            "error": error,
            "details_form": details_form,
            "add_form": add_form or InviteeAddForm(event_language=event.language),
            "invitees": [i for i in invitations if i.kind == i.Kind.INVITEE],
            "guests": guests,
            "sessions": selectors.sessions_with_quality(event=event),
            "deletion": selectors.deletion_dates(event=event),
            "editable": event.status != event.Status.CANCELLED and event.ends_at > now,
            "ended": event.ends_at <= now,
            "time_zone": zone,
        },
    )


def _invalid_link(request):
    return render(request, "meetings/invalid.html", status=404)
