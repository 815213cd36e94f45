"""Reads of customer files: the desk's search, a file's facts, and the timeline of what concerns a customer.

A person is identified by their account, or by an address they verified: an address someone typed
without confirming it (on a ticket, in an unconfirmed sign-up) never pulls another person's records in.
"""

from dataclasses import dataclass
from datetime import datetime

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from tessera.accounts.models import Membership, Organisation
from tessera.privacy.models import Incident, RightsRequest

from .complaints import Complaint
from .customers import CustomerFile
from .models import Ticket
from .testimonials import Testimonial

SEARCH_LIMIT = 50
TIMELINE_LIMIT = 100  # per kind of record


def _anonymised(users):
    return users.exclude(is_active=False, email__startswith="anonymised-", email__endswith="@invalid")


def customer_search(*, query: str = "") -> dict:
    """Organisations (by name or short name), individual account holders (by name or any verified
    address), each with its file if any, and former customers: files whose relationship ended."""
    query = query.strip()[:200]
    organisations = Organisation.objects.annotate(member_count=Count("memberships"))
    users = _anonymised(get_user_model().objects.filter(is_staff=False))
    former = CustomerFile.objects.filter(relationship_ended_at__isnull=False)
    if query:
        organisations = organisations.filter(Q(name__icontains=query) | Q(slug__icontains=query))
        verified = EmailAddress.objects.filter(email__icontains=query, verified=True).values("user_id")
        users = users.filter(Q(full_name__icontains=query) | Q(email__icontains=query) | Q(pk__in=verified))
        former = former.filter(Q(name__icontains=query) | Q(email__icontains=query))
    organisations = list(organisations.order_by("name", "pk")[:SEARCH_LIMIT])
    users = list(users.order_by("email", "pk")[:SEARCH_LIMIT])
    files = CustomerFile.objects.filter(
        Q(organisation_id__in=[o.pk for o in organisations]) | Q(user_id__in=[u.pk for u in users])
    )
    by_org = {f.organisation_id: f for f in files if f.organisation_id}
    by_user = {f.user_id: f for f in files if f.user_id}
    return {
        "organisations": [(o, by_org.get(o.pk)) for o in organisations],
        "individuals": [(u, by_user.get(u.pk)) for u in users],
        "former": list(former.order_by("-relationship_ended_at", "pk")[:SEARCH_LIMIT]),
    }


def customer_organisation_get(*, pk: int) -> Organisation | None:
    return Organisation.objects.filter(pk=pk).first()


def customer_user_get(*, pk: int):
    return _anonymised(get_user_model().objects.filter(pk=pk, is_staff=False)).first()


def customer_file_get(*, pk: int) -> CustomerFile | None:
    return CustomerFile.objects.select_related("organisation", "user").filter(pk=pk).first()


def customer_contacts(*, file: CustomerFile):
    return file.contacts.all()


def customer_notes(*, file: CustomerFile):
    return file.notes.select_related("author")


def customer_seats_used(*, file: CustomerFile) -> int | None:
    """Active members of the organisation (its seats in use); None for an individual or a former customer."""
    if file.organisation_id is None:
        return None
    return Membership.objects.filter(organisation_id=file.organisation_id, user__is_active=True).count()


def customer_since(*, file: CustomerFile):
    if file.organisation_id is not None:
        return file.organisation.created_at
    if file.user_id is not None:
        return file.user.date_joined
    return None


def _people(file: CustomerFile):
    """(account ids, verified lowercase addresses) of the customer, as subqueries."""
    if file.organisation_id is not None:
        user_ids = Membership.objects.filter(organisation_id=file.organisation_id).values("user_id")
    elif file.user_id is not None:
        user_ids = get_user_model().objects.filter(pk=file.user_id).values("pk")
    else:
        user_ids = get_user_model().objects.none().values("pk")
    emails = (
        EmailAddress.objects.filter(user_id__in=user_ids, verified=True)
        .annotate(address=Lower("email"))
        .values_list("address", flat=True)
    )
    return user_ids, emails


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # ticket, complaint, testimonial, rights_request, incident
    label: str
    date: datetime
    title: str
    status: str
    url: str


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # a desk page this deployment does not route
        return ""


def customer_timeline(*, file: CustomerFile) -> list[TimelineEntry]:
    """Tickets, complaints, testimonials, rights requests and incidents about the customer, newest first.

    An individual is matched by their account and their verified addresses; an organisation by its
    members' accounts and verified addresses, and by the organisation itself where a record names it.
    Incidents name no account: one is listed while its addresses to notify (erased once notified)
    hold one of the customer's verified addresses.
    """
    user_ids, emails = _people(file)
    entries = []
    tickets = Ticket.objects.annotate(address=Lower("email")).filter(address__in=emails)
    for t in tickets.order_by("-created_at")[:TIMELINE_LIMIT]:
        entries.append(
            TimelineEntry(
                "ticket",
                _("Support request"),
                t.created_at,
                f"#{t.pk} {t.subject}",
                t.get_status_display(),
                _url("support:desk_ticket", t.pk),
            )
        )
    complaints = Complaint.objects.annotate(address=Lower("email")).filter(
        Q(author_id__in=user_ids) | Q(address__in=emails)
    )
    for c in complaints.order_by("-created_at")[:TIMELINE_LIMIT]:
        entries.append(
            TimelineEntry(
                "complaint",
                _("Complaint"),
                c.created_at,
                f"C{c.pk} {c.get_category_display()}",
                c.get_status_display(),
                _url("support:desk_complaint", c.pk),
            )
        )
    about = Q(author_id__in=user_ids)
    if file.organisation_id is not None:
        about |= Q(organisation_id=file.organisation_id)
    for t in Testimonial.objects.filter(about).order_by("-created_at")[:TIMELINE_LIMIT]:
        entries.append(
            TimelineEntry(
                "testimonial",
                _("Testimonial"),
                t.created_at,
                f"T{t.pk} {t.name}",
                t.get_status_display(),
                _url("support:desk_testimonial", t.pk),
            )
        )
    requests = RightsRequest.objects.annotate(address=Lower("email")).filter(address__in=emails)
    for r in requests.order_by("-received_at")[:TIMELINE_LIMIT]:
        entries.append(
            TimelineEntry(
                "rights_request",
                _("Rights request"),
                r.received_at,
                f"{r.reference} {r.get_kind_display()}",
                r.get_status_display(),
                _url("admin:privacy_rightsrequest_change", r.pk),
            )
        )
    entries.extend(_incidents(emails))
    return sorted(entries, key=lambda e: e.date, reverse=True)


def _incidents(emails) -> list[TimelineEntry]:
    incidents = list(Incident.objects.exclude(affected_emails="").order_by("-detected_at")[:TIMELINE_LIMIT])
    if not incidents:
        return []
    known = set(emails)
    return [
        TimelineEntry(
            "incident",
            _("Incident"),
            i.detected_at,
            i.title,
            _("closed") if i.closed_at else _("open"),
            _url("admin:privacy_incident_change", i.pk),
        )
        for i in incidents
        if known & {line.strip().lower() for line in i.affected_emails.splitlines()}
    ]
