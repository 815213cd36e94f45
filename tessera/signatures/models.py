import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Organisation


class SignatureTemplate(models.Model):
    """An organisation's email signature: email-safe HTML with placeholders filled from each member's card."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="signature_templates"
    )
    # The logo's public address: not guessable, so templates cannot be enumerated.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    html = models.TextField(_("HTML"))
    departments = models.JSONField(_("assigned to departments"), default=list, blank=True)
    groups = models.JSONField(_("assigned to directory groups"), default=list, blank=True)
    is_default = models.BooleanField(_("default signature of the organisation"), default=False)
    logo = models.BinaryField(_("logo (PNG)"), blank=True, default=b"")
    # Embed the logo in the signature as data (no request when the email is opened) rather than a link.
    inline_logo = models.BooleanField(_("embed the logo in the signature"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("signature template")
        verbose_name_plural = _("signature templates")
        ordering = ["name"]

    def __str__(self):
        return self.name


from .push_models import PushedSignature, PushItem, PushRun  # noqa: E402, F401  (the push part of the app)
