"""Customer files: the administrative and operational record staff keep per customer (no payment)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NAME_LIMIT = 200
NOTE_LIMIT = 5000
REFERENCE_LIMIT = 64


class CustomerFile(models.Model):
    """One customer: an organisation or an individual account holder, never both.

    The file outlives the organisation or the account it describes: when either is deleted the links
    become empty, `relationship_ended_at` is set, and the retention job deletes the file 3 years later.
    """

    class Kind(models.TextChoices):
        ORGANISATION = "org", _("Organisation")
        INDIVIDUAL = "user", _("Individual")

    class Plan(models.TextChoices):
        FREE = "free", _("Free")
        TEAM = "team", _("Team")
        BUSINESS = "business", _("Business")
        ENTERPRISE = "enterprise", _("Enterprise")

    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account holder"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    # Snapshots: the file still says whom it was about once the organisation or account is gone.
    name = models.CharField(_("name"), max_length=NAME_LIMIT)
    email = models.EmailField(_("email"), blank=True)
    plan = models.CharField(_("plan"), max_length=16, choices=Plan.choices, default=Plan.FREE)
    contract_reference = models.CharField(_("contract reference"), max_length=REFERENCE_LIMIT, blank=True)
    seats = models.PositiveIntegerField(_("seats"), null=True, blank=True)
    contract_start = models.DateField(_("contract start"), null=True, blank=True)
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True)
    relationship_ended_at = models.DateTimeField(
        _("relationship ended"), null=True, blank=True, db_index=True
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("customer file")
        verbose_name_plural = _("customer files")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(organisation__isnull=False),
                name="support_customerfile_one_per_organisation",
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(user__isnull=False), name="support_customerfile_one_per_user"
            ),
            # Exactly one customer; neither only once the relationship ended with its deletion.
            models.CheckConstraint(
                condition=(Q(kind="org", user__isnull=True) | Q(kind="user", organisation__isnull=True))
                & (
                    Q(organisation__isnull=False)
                    | Q(user__isnull=False)
                    | Q(relationship_ended_at__isnull=False)
                ),
                name="support_customerfile_one_customer",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_organisation(self) -> bool:
        return self.kind == self.Kind.ORGANISATION


class CustomerContact(models.Model):
    """Someone staff deal with for this customer: a buyer, an accountant, the IT contact."""

    file = models.ForeignKey(CustomerFile, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=150)
    role = models.CharField(_("role"), max_length=120, blank=True)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("customer contact")
        verbose_name_plural = _("customer contacts")

    def __str__(self):
        return self.name


class CustomerNote(models.Model):
    """A note staff keep for each other about a customer; part of the customer's data (Art. 15)."""

    file = models.ForeignKey(CustomerFile, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("internal note"), max_length=NOTE_LIMIT)
    created_at = models.DateTimeField(_("written"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("customer note")
        verbose_name_plural = _("customer notes")

    def __str__(self):
        return f"{self.file_id} note {self.created_at:%Y-%m-%d %H:%M}"
