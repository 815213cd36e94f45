"""Processing activities of the privacy core itself: consent, rights requests, directives, incidents."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .dpa.privacy import DPA_ACCEPTANCE, dpa_erase, dpa_export
from .dpo import incident_addresses
from .models import (
    ConsentRecord,
    DirectiveExport,
    Incident,
    PostMortemDirective,
    ProcessingLimit,
    RightsLink,
    RightsRequest,
)
from .register import Activity, ErasureOutcome, ExportSection, LegalBasis, Retention
from .retention import batched_delete, batched_update
from .services import consent_withdraw
from .subjects import subject_digest
from .terms.privacy import TERMS_ACCEPTANCE, terms_erase, terms_export

DPO = _("The data protection officer and authorised staff")
MARKETING = _("News and offers")
PORTAL = _("Privacy and your rights")


def _days(name):
    return timedelta(days=settings.TESSERA_PRIVACY[name])


def _marketing_retention(*, now) -> int:
    # A withdrawal interrupted by a crash is finished here: only the minimal proof remains.
    count = batched_update(
        ConsentRecord.objects.filter(withdrawn_at__isnull=False).filter(~Q(email="") | Q(user__isnull=False)),
        values={"email": "", "user": None, "context": ""},
    )
    count += batched_delete(
        ConsentRecord.objects.filter(
            purpose=ConsentRecord.Purpose.MARKETING,
            withdrawn_at__isnull=True,
            last_activity_at__lt=now - _days("marketing_inactivity_days"),
        ).order_by()
    )
    return count


def _consent_proof_retention(*, now) -> int:
    # Entries tied to data with its own life (a recording answer and its session) go with that data.
    count = batched_delete(ConsentRecord.objects.filter(keep_until__lt=now).order_by())
    count += batched_delete(
        ConsentRecord.objects.filter(withdrawn_at__lt=now - _days("consent_proof_days")).order_by()
    )
    return count


def _rights_retention(*, now) -> int:
    count = batched_delete(RightsLink.objects.filter(expires_at__lt=now - timedelta(days=1)).order_by())
    cutoff = now - _days("rights_request_days")
    count += batched_delete(ProcessingLimit.objects.filter(lifted_at__lt=cutoff).order_by())
    count += batched_delete(RightsRequest.objects.filter(closed_at__lt=cutoff).order_by())
    return count


def _directive_retention(*, now) -> int:
    count = batched_delete(PostMortemDirective.objects.filter(revoked_at__lt=now).order_by())
    count += batched_delete(DirectiveExport.objects.filter(expires_at__lt=now).order_by())
    return count


def _incident_retention(*, now) -> int:
    # Notifying erases the list itself; a closed incident notifies nobody any more.
    count = batched_update(
        Incident.objects.filter(closed_at__lte=now).exclude(affected_emails=""),
        values={"affected_emails": ""},
    )
    count += batched_delete(Incident.objects.filter(closed_at__lt=now - _days("incident_days")).order_by())
    return count


activities = [
    Activity(
        name="privacy.marketing",
        service=MARKETING,
        title=_("Marketing emails"),
        purpose=_("Send news about our services and offers to people who asked for them."),
        legal_basis=LegalBasis.CONSENT,
        legal_basis_detail=_(
            "An optional, unticked checkbox. You can withdraw at any time with the link in every email."
        ),
        data_subjects=(_("People who subscribed to our news"),),
        data_categories=(_("Email address"), _("Date and form of the consent")),
        fields={"privacy.ConsentRecord": ["email", "user", "context", "last_activity_at"]},
        recipients=(DPO, _("Our email-sending provider")),
        retention=Retention(
            description=_(
                "Until you withdraw your consent: the address is then erased at once, keeping only a "
                "minimal proof. Deleted after 3 years without activity."
            ),
            period=timedelta(days=3 * 365),
            apply=_marketing_retention,
        ),
        security_measures=(_("One-click unsubscribe link in every email, no sign-in needed"),),
    ),
    Activity(
        name="privacy.consent_ledger",
        service=PORTAL,
        title=_("Proof of consent"),
        purpose=_(
            "Prove when and how a consent was given and withdrawn, and the exact text that was shown "
            "(marketing, contact exchange on a card, answers to a recording notice)."
        ),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        legal_basis_detail=_("GDPR Art. 7(1): the controller must be able to demonstrate consent."),
        data_subjects=(_("People who gave or refused a consent"),),
        data_categories=(
            _("Keyed hash of the email address"),
            _("Purpose, and the exact text shown with its version and language"),
            _("Dates of consent and withdrawal"),
        ),
        fields={"privacy.ConsentRecord": ["subject_digest", "email", "given_at", "withdrawn_at"]},
        recipients=(DPO,),
        sub_processors=("hosting",),
        retention=Retention(
            description=_(
                "Answers to a recording notice are deleted 7 days after the meeting's session was created; "
                "the consent given on a card's contact form is deleted with the contact it allowed; a "
                "marketing consent follows the marketing rule. The minimal proof of a withdrawn consent "
                "is kept 5 years (limitation period)."
            ),
            period=timedelta(days=5 * 365),
            apply=_consent_proof_retention,
        ),
        security_measures=(_("The address is replaced by a keyed hash once consent is withdrawn"),),
    ),
    Activity(
        name="privacy.rights_requests",
        service=PORTAL,
        title=_("Requests to exercise your rights"),
        purpose=_(
            "Answer requests to exercise data protection rights, honour restrictions and objections, and "
            "prove that each answer was given in time."
        ),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        legal_basis_detail=_("GDPR Art. 12 to 22."),
        data_subjects=(_("People who exercise their rights"),),
        data_categories=(
            _("Email address, and name and postal address for requests by post"),
            _("The request, its answer and its dates"),
        ),
        fields={
            "privacy.RightsRequest": [
                "email",
                "requester_name",
                "postal_address",
                "details",
                "answer",
                "outcome",
                "extension_reason",
                "requester_email",
                "language",
            ],
            "privacy.RightsLink": ["email"],
            "privacy.ProcessingLimit": ["email", "reason"],
        },
        recipients=(DPO,),
        retention=Retention(
            description=_(
                "5 years after the request was closed (limitation period), to prove the answer. One-time "
                "links are valid 24 hours and deleted a day after. Restrictions last until lifted."
            ),
            period=timedelta(days=5 * 365),
            apply=_rights_retention,
        ),
        security_measures=(
            _("One-time links valid 24 hours; only a hash of the link is stored"),
            _("Every action is recorded in the security log"),
        ),
    ),
    Activity(
        name="privacy.post_mortem",
        service=PORTAL,
        title=_("Directives after death"),
        purpose=_("Apply your directives on keeping, erasing or communicating your data after your death."),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        legal_basis_detail=_("French Data Protection Act (Loi Informatique et Libertés), art. 85."),
        data_subjects=(_("People who gave directives"), _("The person they named")),
        data_categories=(_("Email address"), _("Instruction, and name and email of the person named")),
        fields={
            "privacy.PostMortemDirective": ["email", "trusted_person_name", "trusted_person_email"],
            "privacy.DirectiveExport": ["archive"],
        },
        recipients=(DPO, _("The person you name, if your directive is to communicate your data")),
        sub_processors=("hosting", "email"),
        retention=Retention(
            description=_(
                "Until you revoke them; revoked directives are deleted. After a death notice verified by "
                "our staff, the directive is carried out; data communicated to the person named waits for "
                "them 30 days behind a one-time link, then is deleted."
            ),
            apply=_directive_retention,
        ),
        security_measures=(
            _("Changed only after proof of control of the address"),
            _("A death notice is presented by the person named, after proof of control of their address"),
            _("Communicated data is reached by a link sent to the person named, valid 30 days"),
        ),
    ),
    Activity(
        name="privacy.incidents",
        service=PORTAL,
        title=_("Incident register"),
        purpose=_(
            "Document personal data breaches, notify the supervisory authority and the people concerned."
        ),
        legal_basis=LegalBasis.LEGAL_OBLIGATION,
        legal_basis_detail=_("GDPR Art. 33 and 34."),
        data_subjects=(_("People affected by a breach"),),
        data_categories=(_("Description of the breach"), _("Addresses of the people to notify")),
        fields={
            "privacy.Incident": [
                "title",
                "nature",
                "people_categories",
                "record_categories",
                "consequences",
                "measures",
                "affected_emails",
                "people_message",
                "authority_delay_reason",
            ]
        },
        recipients=(DPO, _("The supervisory authority")),
        retention=Retention(
            description=_(
                "5 years after the incident was closed. Addresses to notify are erased once notified, "
                "and at the latest when the incident is closed."
            ),
            period=timedelta(days=5 * 365),
            apply=_incident_retention,
        ),
        security_measures=(_("Access restricted to the data protection officer"),),
    ),
    TERMS_ACCEPTANCE,
    DPA_ACCEPTANCE,
]

non_personal = {
    # A progress mark: the keyed digest of the last address emailed, cleared when the emails are queued.
    "privacy.PolicyVersion": ["content_hash", "substance_hash", "register", "others_notified_through"],
    "privacy.ConsentRecord": ["purpose", "text_version", "text_hash", "method", "withdrawal_method"],
    # The wording of a form, the same for everyone who saw it.
    "privacy.ConsentText": ["purpose", "version", "language", "text", "text_hash"],
    "privacy.RightsRequest": ["reference", "kind", "status", "channel"],
    "privacy.RightsLink": ["token_hash", "language"],
    "privacy.ProcessingLimit": ["kind"],
    "privacy.PostMortemDirective": ["instruction"],
    "privacy.DirectiveExport": ["token_hash"],
    "privacy.RetentionRun": ["activity"],
    "privacy.TermsVersion": ["number", "published_at", "notified_at"],
    "privacy.DpaVersion": ["number", "published_at", "notified_at"],
    # The organisation's name as it was when it accepted: a company, not a person.
    "privacy.DpaAcceptance": ["organisation_name"],
}


def _iso(value):
    return value.isoformat() if value else ""


CONSENT_COLUMNS = {
    "purpose": _("What the consent was for"),
    "answer": _("true if you agreed, false if you refused"),
    "text": _("The exact text you were shown"),
    "text_version": _("Version of that text"),
    "text_language": _("Language the text was shown in"),
    "text_sha256": _("SHA-256 of the text, with white space collapsed"),
    "how": _("How the answer was given"),
    "where": _("Where the answer was given"),
    "given": _("When the answer was given"),
    "withdrawn": _("When the consent was withdrawn, if it was"),
}
INCIDENT_COLUMNS = {
    "title": _("Name of the incident"),
    "nature": _("What happened"),
    "became_aware": _("When we became aware of it"),
    "likely_consequences": _("Its likely consequences"),
    "measures": _("The measures taken or proposed"),
    "you_were_notified": _("When the people concerned were notified, if they were"),
    "closed": _("When the incident was closed"),
}


def _incidents_listing(email: str):
    # A substring match narrows the rows; the exact address is then checked line by line.
    return [
        incident
        for incident in Incident.objects.filter(affected_emails__icontains=email).order_by("detected_at")
        if email in incident_addresses(incident)
    ]


def export_subject(subject) -> list[ExportSection]:
    records = list(
        ConsentRecord.objects.filter(subject_digest=subject_digest(subject.email))
        .select_related("shown_text")
        .order_by("given_at")
    )
    consents = [
        {
            "purpose": c.purpose,
            "answer": c.answer,
            "text": c.shown_text.text if c.shown_text else "",
            "text_version": c.text_version,
            "text_language": c.shown_text.language if c.shown_text else "",
            "text_sha256": c.text_hash,
            "how": c.method,
            "where": c.context,
            "given": _iso(c.given_at),
            "withdrawn": _iso(c.withdrawn_at),
        }
        for c in records
    ]
    subscriptions = [
        {"email": c.email, "since": _iso(c.given_at), "last_activity": _iso(c.last_activity_at)}
        for c in records
        if c.purpose == ConsentRecord.Purpose.MARKETING and c.answer and c.withdrawn_at is None
    ]
    requests = [
        {
            "reference": r.reference,
            "right": r.kind,
            "status": r.status,
            "received": _iso(r.received_at),
            "deadline": _iso(r.due_at),
            "closed": _iso(r.closed_at),
            "details": r.details,
        }
        for r in RightsRequest.objects.filter(email=subject.email).order_by("received_at")
    ]
    limits = [
        {"kind": x.kind, "since": _iso(x.created_at), "lifted": _iso(x.lifted_at), "reason": x.reason}
        for x in ProcessingLimit.objects.filter(email=subject.email)
    ]
    directives = [
        {
            "instruction": d.instruction,
            "person_named": d.trusted_person_name,
            "their_email": d.trusted_person_email,
            "given": _iso(d.created_at),
            "revoked": _iso(d.revoked_at),
        }
        for d in PostMortemDirective.objects.filter(email=subject.email)
    ]
    # The person named in someone's directives holds their own name and address there (not the author's).
    named = [
        {"named_as": d.trusted_person_name, "your_email": d.trusted_person_email, "since": _iso(d.created_at)}
        for d in PostMortemDirective.objects.filter(
            trusted_person_email=subject.email, revoked_at__isnull=True
        )
    ]
    incidents = [
        {
            "title": i.title,
            "nature": i.nature,
            "became_aware": _iso(i.detected_at),
            "likely_consequences": i.consequences,
            "measures": i.measures,
            "you_were_notified": _iso(i.people_notified_at),
            "closed": _iso(i.closed_at),
        }
        for i in _incidents_listing(subject.email)
    ]
    return [
        ExportSection(
            activity="privacy.marketing",
            category="marketing_subscription",
            rows=subscriptions,
            columns={
                "email": _("The address our news is sent to"),
                "since": _("When you subscribed"),
                "last_activity": _("Your last activity, from which the 3 years are counted"),
            },
        ),
        ExportSection(
            activity="privacy.consent_ledger", category="consents", rows=consents, columns=CONSENT_COLUMNS
        ),
        ExportSection(activity="privacy.rights_requests", category="rights_requests", rows=requests),
        ExportSection(activity="privacy.rights_requests", category="restrictions_objections", rows=limits),
        ExportSection(activity="privacy.post_mortem", category="post_mortem_directives", rows=directives),
        ExportSection(
            activity="privacy.post_mortem",
            category="directives_naming_you",
            rows=named,
            description=_(
                "Someone named you in their directives after death; who stays private while they live."
            ),
        ),
        ExportSection(
            activity="privacy.incidents",
            category="incidents_concerning_you",
            rows=incidents,
            columns=INCIDENT_COLUMNS,
        ),
        terms_export(subject),
        dpa_export(subject),
    ]


def erase_subject(subject) -> list[ErasureOutcome]:
    withdrawn = consent_withdraw(email=subject.email, method="erasure")
    directives = batched_delete(PostMortemDirective.objects.filter(email=subject.email).order_by())
    limits = batched_delete(ProcessingLimit.objects.filter(email=subject.email).order_by())
    kept = RightsRequest.objects.filter(email=subject.email).count()
    incidents = len(_incidents_listing(subject.email))
    return [
        ErasureOutcome(
            activity="privacy.consent_ledger",
            erased=withdrawn,
            kept=withdrawn,
            reason_kept=_(
                "A minimal proof of each consent and of its withdrawal (dates, text version, a keyed hash "
                "instead of your address) is kept to demonstrate it (GDPR Art. 7(1))."
            ),
            kept_until=_("5 years after withdrawal"),
        ),
        ErasureOutcome(activity="privacy.post_mortem", erased=directives),
        ErasureOutcome(activity="privacy.rights_requests", erased=limits),
        ErasureOutcome(
            activity="privacy.rights_requests",
            kept=kept,
            reason_kept=_(
                "Records of your requests, including this one, are kept to prove that we answered them "
                "(legal obligation, GDPR Art. 5(2) and 12)."
            ),
            kept_until=_("5 years after each request was closed"),
        ),
        ErasureOutcome(
            activity="privacy.incidents",
            kept=incidents,
            reason_kept=_(
                "Your address is on the list of people we must inform of a personal data breach "
                "(legal obligation, GDPR Art. 34)."
            ),
            kept_until=_("until you are notified, at the latest when the incident is closed"),
        ),
        terms_erase(subject),
        dpa_erase(subject),
    ]


def policy_recipients(*, before):
    """Hook of the policy-change emails: people subscribed to our news (with an active consent)."""
    return (
        ConsentRecord.objects.filter(
            purpose=ConsentRecord.Purpose.MARKETING,
            answer=True,
            withdrawn_at__isnull=True,
            given_at__lte=before,
        )
        .exclude(email="")
        .values_list("email", "shown_text__language")
    )
