import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PolicyVersion(models.Model):
    """One published version of the privacy policy, keyed by the hash of the register it renders."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    content_hash = models.CharField(max_length=64, unique=True)
    # Hash of what makes a change substantial: purposes, bases, data, recipients, transfers, retention.
    substance_hash = models.CharField(max_length=64)
    substantial = models.BooleanField(_("substantial change"), default=False)
    published_at = models.DateTimeField(_("published"), default=timezone.now)
    notified_at = models.DateTimeField(_("account holders notified"), null=True, blank=True)
    # Emails to account holders are queued in account-id order; this is the last id queued, committed
    # with its batch, so a notification interrupted by a crash resumes after it and nobody gets two.
    notified_through_user_id = models.PositiveBigIntegerField(default=0)
    # Then the other addresses with a live relationship (apps' `policy_recipients`), in the order of their
    # keyed digest: the last digest queued, cleared once every address was queued.
    accounts_notified = models.BooleanField(default=False)
    others_notified_through = models.CharField(max_length=64, blank=True)
    register = models.JSONField(_("register"), default=dict)

    class Meta:
        verbose_name = _("privacy policy version")
        verbose_name_plural = _("privacy policy versions")
        ordering = ["-number"]

    def __str__(self):
        return f"v{self.number} ({self.published_at:%Y-%m-%d})"


class ConsentRecord(models.Model):
    """One consent, with the exact text the person saw, and its withdrawal."""

    class Purpose(models.TextChoices):
        MARKETING = "marketing", _("Marketing emails")
        LEAD_FORM = "lead_form", _("Sharing contact details through a card's form")
        RECORDING_NOTICE = "recording_notice", _("Answer to a meeting recording notice")
        TESTIMONIAL = "testimonial_publication", _("Publication of a testimonial on our site")

    class Method(models.TextChoices):
        CHECKBOX = "checkbox", _("Unticked checkbox, ticked by the person")
        FORM = "form", _("Form submitted by the person")
        DIALOG = "dialog", _("Answer in a dialog")
        STAFF = "staff", _("Entered by staff from a written request")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices, db_index=True)
    # Cleared on withdrawal; subject_digest (a keyed hash) remains as the minimal proof.
    email = models.EmailField(_("email"), blank=True, db_index=True)
    subject_digest = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answer = models.BooleanField(_("answer"), default=True)
    text_version = models.CharField(_("text version"), max_length=40)
    text_hash = models.CharField(_("hash of the text seen"), max_length=64)
    shown_text = models.ForeignKey(
        "ConsentText",
        verbose_name=_("text seen"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    method = models.CharField(_("how it was given"), max_length=16, choices=Method.choices)
    context = models.CharField(_("where"), max_length=200, blank=True)
    given_at = models.DateTimeField(_("given"), default=timezone.now)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now, db_index=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True, db_index=True)
    withdrawal_method = models.CharField(_("how it was withdrawn"), max_length=32, blank=True)
    # Set when the entry lives no longer than the data it is about (a recording answer: its session).
    keep_until = models.DateTimeField(_("kept until"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consent ledger")
        ordering = ["-given_at"]

    def __str__(self):
        return f"{self.get_purpose_display()} {self.given_at:%Y-%m-%d}"


class ConsentText(models.Model):
    """The exact wording a consent was given on, archived the first time it is used; never changed."""

    purpose = models.CharField(_("purpose"), max_length=32, choices=ConsentRecord.Purpose.choices)
    version = models.CharField(_("text version"), max_length=40)
    language = models.CharField(_("language"), max_length=8)
    text = models.TextField(_("text"))
    text_hash = models.CharField(_("hash of the text"), max_length=64)
    first_used_at = models.DateTimeField(_("first used"), default=timezone.now)

    class Meta:
        verbose_name = _("consent text")
        verbose_name_plural = _("consent texts")
        ordering = ["purpose", "-first_used_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "version", "language", "text_hash"], name="privacy_consent_text_once"
            )
        ]

    def __str__(self):
        return f"{self.purpose} {self.version} ({self.language})"


class RightsLink(models.Model):
    """A one-time link proving control of an email address; only its hash is stored."""

    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField(_("email"), db_index=True)
    language = models.CharField(max_length=8, default="fr")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rights portal link")

    def __str__(self):
        return f"link {self.pk}"


class RightsRequest(models.Model):
    """A data-subject request and its answer, kept to prove the answer was given in time."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("Access and portability")
        RECTIFICATION = "rectification", _("Rectification")
        ERASURE = "erasure", _("Erasure")
        RESTRICTION = "restriction", _("Restriction of processing")
        OBJECTION = "objection", _("Objection")
        WITHDRAWAL = "withdrawal", _("Withdrawal of consent")
        POST_MORTEM = "post_mortem", _("Directives after death")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        RECEIVED = "received", pgettext_lazy("rights request status", "received")
        IN_PROGRESS = "in_progress", _("in progress")
        ANSWERED = "answered", pgettext_lazy("rights request status", "answered")
        REFUSED = "refused", _("refused, with reasons")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("online portal")
        ACCOUNT = "account", _("personal space")
        EMAIL = "email", _("email")
        POST = "post", _("post")

    OPEN = (Status.RECEIVED, Status.IN_PROGRESS)

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    kind = models.CharField(_("right"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    channel = models.CharField(_("received by"), max_length=16, choices=Channel.choices)
    email = models.EmailField(_("email"), db_index=True)
    requester_name = models.CharField(_("name"), max_length=200, blank=True)
    # Set when someone other than the person concerned presents the request (a death notice).
    requester_email = models.EmailField(_("presented by"), blank=True)
    postal_address = models.TextField(_("postal address"), blank=True)
    details = models.TextField(_("request"), blank=True)
    identity_verified = models.BooleanField(_("identity verified"), default=False)
    # The language the request was made in (the portal's page), which its answers use; blank for post.
    language = models.CharField(_("language"), max_length=8, blank=True, default="")
    received_at = models.DateTimeField(
        pgettext_lazy("date a request was received", "received"), default=timezone.now
    )
    due_at = models.DateTimeField(_("deadline"), db_index=True)
    extended_at = models.DateTimeField(_("extended"), null=True, blank=True)
    extension_reason = models.TextField(_("reason for the extension"), blank=True)
    closed_at = models.DateTimeField(
        pgettext_lazy("date something was closed", "closed"), null=True, blank=True, db_index=True
    )
    answer = models.TextField(_("answer"), blank=True)
    outcome = models.JSONField(_("what was done and kept"), default=dict, blank=True)
    reminded_7_at = models.DateTimeField(null=True, blank=True)
    reminded_2_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rights request")
        verbose_name_plural = _("rights requests")
        ordering = ["due_at"]
        permissions = [
            (
                "carry_out_rightsrequest",
                _("Can carry out a rights request (access export, erasure, restriction, objection)"),
            ),
            ("carry_out_directive", _("Can verify a death notice and carry out the directive")),
        ]

    def __str__(self):
        return f"{self.reference} {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class ProcessingLimit(models.Model):
    """A restriction (Art. 18) or an objection (Art. 21) in force for an address, until lifted."""

    class Kind(models.TextChoices):
        RESTRICTION = "restriction", _("restriction")
        OBJECTION_MARKETING = "objection_marketing", _("objection to marketing")
        OBJECTION_INTEREST = "objection_interest", _("objection to legitimate-interest processing")

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    email = models.EmailField(_("email"), db_index=True)
    reason = models.TextField(_("reason given"), blank=True)
    created_at = models.DateTimeField(_("since"), default=timezone.now)
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True, db_index=True)
    request = models.ForeignKey(RightsRequest, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("restriction or objection")
        verbose_name_plural = _("restrictions and objections")

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d}"


class PostMortemDirective(models.Model):
    """Directives on what happens to the data after death (French Data Protection Act, art. 85)."""

    class Instruction(models.TextChoices):
        KEEP = "keep", _("keep my data")
        ERASE = "erase", _("erase my data")
        COMMUNICATE = "communicate", _("communicate my data to the person I name")

    email = models.EmailField(_("email"), db_index=True)
    instruction = models.CharField(_("instruction"), max_length=16, choices=Instruction.choices)
    trusted_person_name = models.CharField(_("person named"), max_length=200, blank=True)
    trusted_person_email = models.EmailField(_("their email"), blank=True)
    created_at = models.DateTimeField(_("given"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("post-mortem directive")
        verbose_name_plural = _("post-mortem directives")

    def __str__(self):
        return f"{self.get_instruction_display()} {self.created_at:%Y-%m-%d}"


class DirectiveExport(models.Model):
    """The data of a deceased person, for the person their directive names; reached by a one-time link."""

    token_hash = models.CharField(max_length=64, unique=True)
    request = models.ForeignKey(RightsRequest, on_delete=models.CASCADE, related_name="directive_exports")
    archive = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    downloaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export for the person named in a directive")

    def __str__(self):
        return f"export {self.pk}"


class Incident(models.Model):
    """A personal data breach (GDPR Art. 33 and 34)."""

    title = models.CharField(_("title"), max_length=200)
    nature = models.TextField(_("nature of the breach"))
    detected_at = models.DateTimeField(_("became aware"), default=timezone.now)
    occurred_at = models.DateTimeField(_("occurred"), null=True, blank=True)
    people_categories = models.TextField(_("categories of people concerned"))
    people_count = models.PositiveIntegerField(_("approximate number of people"), default=0)
    record_categories = models.TextField(_("categories of records concerned"))
    record_count = models.PositiveIntegerField(_("approximate number of records"), default=0)
    consequences = models.TextField(_("likely consequences"))
    measures = models.TextField(_("measures taken or proposed"))
    high_risk = models.BooleanField(
        _("likely high risk to people (they must be told, Art. 34)"), default=False
    )
    affected_emails = models.TextField(
        _("addresses to notify, one per line"),
        blank=True,
        help_text=_("Erased once they were notified, and at the latest when the incident is closed."),
    )
    people_message = models.TextField(_("message to the people concerned"), blank=True)
    authority_notified_at = models.DateTimeField(_("authority notified"), null=True, blank=True)
    authority_delay_reason = models.TextField(_("reasons for notifying after 72 hours"), blank=True)
    people_notified_at = models.DateTimeField(_("people notified"), null=True, blank=True)
    people_notified_count = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(
        pgettext_lazy("date something was closed", "closed"), null=True, blank=True, db_index=True
    )

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incident register")
        ordering = ["-detected_at"]

    def __str__(self):
        return self.title

    @property
    def authority_deadline(self):
        from datetime import timedelta

        return self.detected_at + timedelta(hours=72)


class RetentionRun(models.Model):
    """What the last retention sweep did per activity; lets the admin and tests see progress."""

    activity = models.CharField(max_length=100, unique=True)
    last_run_at = models.DateTimeField()
    last_count = models.PositiveBigIntegerField(default=0)
    total_count = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return self.activity


class InactivityWarning(models.Model):
    """The warning email sent before an inactive account is deleted or anonymised (accounts' rule)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inactivity_warning"
    )
    warned_at = models.DateTimeField(_("warned"))

    class Meta:
        verbose_name = _("inactivity warning")
        verbose_name_plural = _("inactivity warnings")

    def __str__(self):
        return f"{self.warned_at:%Y-%m-%d}"


class TermsVersion(models.Model):
    """One published version of the terms of use; its text is the template `site/terms/<number>.html`."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    published_at = models.DateTimeField(_("published"), default=timezone.now)
    substantial = models.BooleanField(_("substantial change"), default=False)
    notified_at = models.DateTimeField(_("account holders notified"), null=True, blank=True)
    # Last account id emailed, committed with its batch: an interrupted notification resumes after it.
    notified_through_user_id = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("terms of use version")
        verbose_name_plural = _("terms of use versions")
        ordering = ["-number"]

    def __str__(self):
        return f"v{self.number} ({self.published_at:%Y-%m-%d})"

    @property
    def template(self) -> str:
        return f"site/terms/{self.number}.html"


class TermsAcceptance(models.Model):
    """Proof that someone accepted a version of the terms: at sign-up, or when creating an event."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(_("email address"))
    version = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(_("accepted"), default=timezone.now)
    context = models.CharField(_("where"), max_length=40)

    class Meta:
        verbose_name = _("terms acceptance")
        verbose_name_plural = _("terms acceptances")
        indexes = [models.Index(fields=["accepted_at"])]

    def __str__(self):
        return f"v{self.version_id} {self.accepted_at:%Y-%m-%d} ({self.context})"


class DpaVersion(models.Model):
    """One published version of the data processing agreement (GDPR Art. 28); text `site/dpa/<number>.html`."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    published_at = models.DateTimeField(_("published"), default=timezone.now)
    substantial = models.BooleanField(_("substantial change"), default=False)
    notified_at = models.DateTimeField(_("organisation administrators notified"), null=True, blank=True)
    # Last membership emailed, committed with its batch: an interrupted notification resumes after it.
    notified_through_membership_id = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("data processing agreement version")
        verbose_name_plural = _("data processing agreement versions")
        ordering = ["-number"]

    def __str__(self):
        return f"v{self.number} ({self.published_at:%Y-%m-%d})"

    @property
    def template(self) -> str:
        return f"site/dpa/{self.number}.html"


class DpaAcceptance(models.Model):
    """Proof that an administrator accepted a version of the data processing agreement for an organisation.

    The organisation's name and the signer's address, name and role are copied as they were: the proof
    outlives the account, and the organisation, for the limitation period.
    """

    organisation = models.ForeignKey(
        "accounts.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dpa_acceptances",
    )
    organisation_name = models.CharField(_("organisation"), max_length=200)
    version = models.ForeignKey(DpaVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_by_email = models.EmailField(_("email address"))
    accepted_name = models.CharField(_("name"), max_length=200)
    accepted_role = models.CharField(_("role"), max_length=200)
    accepted_at = models.DateTimeField(_("accepted"), default=timezone.now)
    # Set by the retention job when it first finds the organisation gone: the 5 years run from then.
    relationship_ended_at = models.DateTimeField(_("relationship ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("data processing agreement acceptance")
        verbose_name_plural = _("data processing agreement acceptances")
        indexes = [models.Index(fields=["organisation", "-accepted_at"])]

    def __str__(self):
        return f"v{self.version_id} {self.accepted_at:%Y-%m-%d} ({self.organisation_name})"
