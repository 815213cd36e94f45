import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Organisation

# Profile fields an organisation template may lock (the value then comes from the template).
LOCKABLE_FIELDS = (
    "company",
    "department",
    "job_title",
    "website",
    "street",
    "postal_code",
    "city",
    "country",
)
# Lists an organisation template may set as a whole (the member's own entries are then not shown).
LOCKABLE_LISTS = ("phones", "emails", "links")
LOCKABLE = LOCKABLE_FIELDS + LOCKABLE_LISTS
# Scalar profile fields whose visibility a member chooses: on the public page, or only in the vCard.
VISIBILITY_FIELDS = (
    "job_title",
    "company",
    "department",
    "bio",
    "website",
    "address",
    "photo",
)


class Visibility(models.TextChoices):
    PUBLIC = "public", _("on the public page and in the vCard")
    VCARD = "vcard", _("only in the vCard")


class DirectoryOff(models.TextChoices):
    NONE = "", _("not disabled by a directory")
    HID = "hid", _("turned off by the directory")
    KEPT = "kept", _("already off when the directory disabled the person")


class CardsSettings(models.Model):
    """What an organisation chose for its cards."""

    class InactiveAction(models.TextChoices):
        DELETE = "delete", _("delete the account")
        ANONYMISE = "anonymise", _("anonymise the account")

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="cards_settings")
    admins_see_leads = models.BooleanField(_("administrators see the members' leads"), default=False)
    inactive_action = models.CharField(
        _("after 24 months without activity"),
        max_length=16,
        choices=InactiveAction.choices,
        default=InactiveAction.DELETE,
    )
    # Otherwise the card of a member who leaves is deactivated and stays with the organisation.
    hand_back_cards = models.BooleanField(
        _("a member who leaves keeps their card, as their own"),
        default=False,
        help_text=_("Otherwise their card is deactivated and stays with the organisation."),
    )

    class Meta:
        verbose_name = _("cards settings")
        verbose_name_plural = _("cards settings")

    def __str__(self):
        return str(self.organisation)


class CardTemplate(models.Model):
    """An organisation's look for its cards, and the fields it sets for every member (brand lock)."""

    class Layout(models.TextChoices):
        CLASSIC = "classic", _("classic")
        CENTERED = "centered", _("centred")
        BANNER = "banner", _("banner")

    class Font(models.TextChoices):
        SYSTEM = "system", _("system font")
        SERIF = "serif", _("serif")
        MONO = "mono", _("monospace")
        # Bundled fonts (SIL OFL), served from tessera/static/tessera/vendor/fonts/: no third-party request.
        INTER = "inter", _("Inter (sans-serif)")
        SOURCE_SERIF = "source-serif-4", _("Source Serif 4 (serif)")
        ATKINSON = "atkinson", _("Atkinson Hyperlegible (sans-serif)")
        JETBRAINS_MONO = "jetbrains-mono", _("JetBrains Mono (monospace)")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="card_templates")
    # The stylesheet's and logo's public address: not guessable, so templates cannot be enumerated.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    primary_colour = models.CharField(_("primary colour"), max_length=7, default="#4338ca")
    background_colour = models.CharField(_("background colour"), max_length=7, default="#ffffff")
    text_colour = models.CharField(_("text colour"), max_length=7, default="#161a26")
    font = models.CharField(_("font"), max_length=16, choices=Font.choices, default=Font.SYSTEM)
    layout = models.CharField(_("layout"), max_length=16, choices=Layout.choices, default=Layout.CLASSIC)
    logo = models.BinaryField(_("logo (PNG)"), blank=True, default=b"")
    # field name -> value set by the admin; members cannot change these.
    locked_values = models.JSONField(_("locked fields"), default=dict, blank=True)
    departments = models.JSONField(_("assigned to departments"), default=list, blank=True)
    groups = models.JSONField(_("assigned to groups"), default=list, blank=True)
    is_default = models.BooleanField(_("default template of the organisation"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("card template")
        verbose_name_plural = _("card templates")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def version(self) -> str:
        return str(int(self.updated_at.timestamp())) if self.updated_at else "0"


class Card(models.Model):
    """One person's business card. Every member of an organisation has one; individuals too."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cards")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="cards", null=True, blank=True
    )
    slug = models.SlugField(_("address"), max_length=32, unique=True)
    is_active = models.BooleanField(pgettext_lazy("card state", "active"), default=True)
    template = models.ForeignKey(
        CardTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cards",
        verbose_name=_("template"),
    )
    groups = models.JSONField(_("groups"), default=list, blank=True)

    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80, blank=True)
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    company = models.CharField(_("company"), max_length=120, blank=True)
    department = models.CharField(_("department"), max_length=120, blank=True)
    bio = models.TextField(_("short bio"), max_length=600, blank=True)
    website = models.URLField(_("website"), blank=True)
    office = models.CharField(_("office location"), max_length=120, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=100, blank=True)
    # [{"kind": "work|mobile|personal", "number": "+33...", "public": bool}]
    phones = models.JSONField(_("phone numbers"), default=list, blank=True)
    # [{"kind": "work|personal", "address": "...", "public": bool}]
    emails = models.JSONField(_("email addresses"), default=list, blank=True)
    # [{"label": "LinkedIn", "url": "https://...", "public": bool}]
    links = models.JSONField(_("social links"), default=list, blank=True)
    # [{"label": "...", "value": "...", "public": bool}]
    custom_fields = models.JSONField(_("custom fields"), default=list, blank=True)
    # scalar field -> "public" | "vcard"; a missing field is public.
    visibility = models.JSONField(_("visibility"), default=dict, blank=True)

    # Fields a connected directory feeds (Entra ID, SCIM): the member cannot edit them here.
    directory_fields = models.JSONField(_("fields kept in step with a directory"), default=list, blank=True)
    directory_source = models.CharField(_("directory"), max_length=60, blank=True)
    # Why the directory keeps the card off the web: it turned it off ("hid"), or found it off ("kept").
    directory_off = models.CharField(
        _("kept off by the directory"), max_length=8, choices=DirectoryOff.choices, blank=True
    )
    # The explicit template came from a directory group (not an administrator's choice).
    directory_template = models.BooleanField(_("template given by a directory group"), default=False)

    photo = models.BinaryField(_("photo (512 px JPEG)"), blank=True, default=b"")
    photo_small = models.BinaryField(_("photo (256 px JPEG)"), blank=True, default=b"")
    photo_version = models.CharField(max_length=16, blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_viewed_at = models.DateTimeField(_("last viewed"), null=True, blank=True)

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")
        ordering = ["last_name", "first_name"]

    def __str__(self):
        return f"{self.first_name} {self.last_name}".strip() or self.slug

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def title(self) -> str:
        """The name, or a neutral title while the card has none: never the random slug."""
        if self.full_name:
            return self.full_name
        if self.organisation_id:
            return gettext("Business card (%(organisation)s)") % {"organisation": self.organisation.name}
        return gettext("Business card")


class CardInvitation(models.Model):
    """An admin's invitation to join the organisation; the link in the email proves the address."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="card_invitations")
    email = models.EmailField(_("email"), db_index=True)  # the access export looks people up by address
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80, blank=True)
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    department = models.CharField(_("department"), max_length=120, blank=True)
    role = models.CharField(_("role"), max_length=16, default="member")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    accepted_at = models.DateTimeField(
        pgettext_lazy("date an invitation was accepted", "accepted"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "email"],
                condition=models.Q(accepted_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self):
        return self.email


class Lead(models.Model):
    """A visitor who exchanged their contact details with a card's owner."""

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("lead status", "new")
        CONTACTED = "contacted", _("contacted")
        QUALIFIED = "qualified", _("qualified")
        CLOSED = "closed", pgettext_lazy("lead status", "closed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="leads")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="card_leads")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="card_leads", null=True, blank=True
    )
    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("email"), db_index=True)  # the access export looks people up by address
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    company = models.CharField(_("company"), max_length=120, blank=True)
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    message = models.TextField(_("message"), max_length=2000, blank=True)
    language = models.CharField(_("language"), max_length=8, default="fr")
    consent_version = models.CharField(_("consent text version"), max_length=64)
    consent_record_id = models.CharField(_("consent ledger entry"), max_length=64, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField(
        pgettext_lazy("date a lead was received", "received"), default=timezone.now, db_index=True
    )
    last_contact_at = models.DateTimeField(_("last contact"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at"]

    def __str__(self):
        return self.name


class CardDailyStat(models.Model):
    """Anonymous daily counters of one card: no address, no cookie, no identifier of the visitor."""

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="daily_stats")
    day = models.DateField(_("day"))
    views_nfc = models.PositiveIntegerField(default=0)
    views_qr = models.PositiveIntegerField(default=0)
    views_link = models.PositiveIntegerField(default=0)
    views_direct = models.PositiveIntegerField(default=0)
    vcard_saves = models.PositiveIntegerField(default=0)
    exchanges = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily card statistics")
        verbose_name_plural = _("daily card statistics")
        constraints = [models.UniqueConstraint(fields=["card", "day"], name="one_stat_row_per_card_day")]

    def __str__(self):
        return f"{self.card_id} {self.day}"

    @property
    def views(self) -> int:
        return self.views_nfc + self.views_qr + self.views_link + self.views_direct


class LeadWebhook(models.Model):
    """An organisation's endpoint that receives every new lead, signed with HMAC-SHA256."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="lead_webhooks")
    url = models.URLField(_("URL"))
    secret = models.CharField(_("signing secret"), max_length=80)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("lead webhook")
        verbose_name_plural = _("lead webhooks")

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One webhook call, written with the lead in the same transaction and retried until delivered."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        # The lead's owner or visitor asked for a restriction of processing: sent once it is lifted.
        HELD = "held", _("held (restriction of processing)")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("given up")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(LeadWebhook, on_delete=models.CASCADE, related_name="deliveries")
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    event = models.CharField(max_length=40, default="lead.created")
    payload = models.JSONField(_("payload"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self):
        return f"{self.event} {self.status}"
