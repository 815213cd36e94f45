"""The person a rights request is about: the keyed digest of their address, the accounts that address
proves, and what every app holds about them. Shared by the services and the export, which both need it."""

import hashlib
import hmac

from django.conf import settings

from .register import ExportSection, Subject, registry


def subject_digest(email: str) -> str:
    """A keyed hash of an address: proves a record concerned it without keeping the address."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"privacy-subject:{email.strip().lower()}".encode(), hashlib.sha256
    ).hexdigest()


def subject_resolve(email: str) -> Subject:
    subject = Subject(email=email)
    for module in registry.modules.values():
        if hasattr(module, "resolve_subject"):
            module.resolve_subject(subject)
    return subject


def subject_export(subject: Subject) -> list[ExportSection]:
    sections = []
    for _label, export in registry.exporters():
        sections.extend(export(subject))
    return sections
