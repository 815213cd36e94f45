from datetime import timedelta

from django.conf import settings

# The CNIL's reference period for prospects: 3 years after the last contact.
RETENTION = timedelta(days=3 * 365)


def staff_address() -> str:
    """Where a sender's answer goes when nobody is assigned: TESSERA_SUPPORT_EMAIL, else the operator's."""
    return getattr(settings, "TESSERA_SUPPORT_EMAIL", "") or settings.TESSERA_OPERATOR["email"]
