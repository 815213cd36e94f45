"""Texts a person agrees to, shown by the forms and recorded word for word by the services."""

from django.utils.translation import gettext_lazy as _

# The exact text of the opt-in; change `marketing_consent_version` (meetings.conf) with it.
MARKETING_CONSENT_TEXT = _(
    "I would like to receive news about the service by email (optional; you can withdraw at any time)."
)
