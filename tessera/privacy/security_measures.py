"""Security measures that hold for the whole platform (GDPR Art. 32), next to the register's per-activity ones.

The register lists, for each activity, the measures particular to it. These hold for every activity; the
data processing agreement's Annex 3 shows both. Each line must stay true of the code and the deployment.
"""

from django.utils.translation import gettext_lazy as _

from .register import TLS

PLATFORM_MEASURES = {
    _("Confidentiality"): (
        TLS,
        _("Passwords hashed with Argon2; two-factor authentication with passkeys or one-time codes"),
        _("Links that grant access are random tokens stored only as hashes, and expire"),
        _("Emails carrying a personal link are encrypted at rest (AES-256-GCM) until they are sent"),
        _("No third-party script, font or request in any page; a strict Content Security Policy"),
        _("Staff access limited to what their role needs"),
    ),
    _("Integrity"): (
        _("A security log chained by HMAC, so that an entry removed or altered is detected"),
        _("Every form validates its input and stores nothing partial; rate limits on every public form"),
    ),
    _("Availability and resilience"): (
        _("Requests that trigger a later action (an email, an export) are written durably before any answer"),
        _("Hosting in the European Economic Area, by the hosting provider listed in Annex 2"),
    ),
    _("Testing and evaluation"): (
        _("Automated tests prove each promise of the privacy policy and run before every release"),
        _("Retention rules run as daily jobs, from the same register that this agreement's annexes show"),
    ),
}
