"""Reads of signatures: templates, which one a member gets, and members' rendered signatures."""

import base64
from dataclasses import dataclass

from django.db.models import QuerySet

from tessera.accounts import hooks
from tessera.accounts.models import Organisation

from .models import SignatureTemplate
from .rendering import Signature, SignatureRefused, signature_render


@dataclass(frozen=True)
class MemberSignature:
    user_id: int
    profile: dict
    template: SignatureTemplate | None
    signature: Signature | None
    problem: str = ""  # why there is no signature, to show


def templates_of(*, organisation: Organisation) -> QuerySet[SignatureTemplate]:
    return SignatureTemplate.objects.filter(organisation=organisation).defer("logo")


def template_get(*, organisation: Organisation, pk: int) -> SignatureTemplate | None:
    return SignatureTemplate.objects.filter(organisation=organisation, pk=pk).first()


def template_public(*, public_id) -> SignatureTemplate | None:
    return SignatureTemplate.objects.filter(public_id=public_id).exclude(logo=b"").first()


def template_for(profile: dict, templates: list[SignatureTemplate]) -> SignatureTemplate | None:
    """Like card templates: the member's department, else one of their directory groups, else the default."""
    department = (profile.get("department") or "").strip().lower()
    if department:
        for template in templates:
            if department in {d.strip().lower() for d in template.departments}:
                return template
    groups = {g.strip().lower() for g in profile.get("groups") or []}
    for template in templates:
        if groups & {g.strip().lower() for g in template.groups}:
            return template
    return next((t for t in templates if t.is_default), None)


def member_profiles(*, organisation: Organisation, user_ids=None) -> dict:
    """{user id: profile} of the organisation's published cards, as cards answers through the hook."""
    profiles: dict = {}
    for answer in hooks.member_profiles.send(organisation=organisation, user_ids=user_ids):
        profiles.update(answer or {})
    return profiles


def _signature(user_id, profile, templates, organisation) -> MemberSignature:
    template = template_for(profile, templates)
    if template is None:
        return MemberSignature(user_id, profile, None, None, "no_template")
    try:
        signature = signature_render(template=template, profile=profile, organisation_name=organisation.name)
    except SignatureRefused as error:
        return MemberSignature(user_id, profile, template, None, " ".join(error.messages))
    return MemberSignature(user_id, profile, template, signature)


def member_signatures(*, organisation: Organisation, user_ids=None) -> list[MemberSignature]:
    """Every member's signature (or why there is none), in name order."""
    templates = list(SignatureTemplate.objects.filter(organisation=organisation))
    profiles = member_profiles(organisation=organisation, user_ids=user_ids)
    found = [_signature(uid, p, templates, organisation) for uid, p in profiles.items()]
    return sorted(
        found, key=lambda s: (s.profile.get("last_name", "").lower(), s.profile.get("first_name", ""))
    )


def member_signature(*, organisation: Organisation, user) -> MemberSignature | None:
    """The signed-in member's signature; None when they have no published card in the organisation."""
    found = member_signatures(organisation=organisation, user_ids=[user.pk])
    return found[0] if found else None


def templates_export(*, organisation: Organisation) -> list[dict]:
    """The organisation's templates as its export carries them (the logo as base64 PNG)."""
    return [
        {
            "name": t.name,
            "html": t.html,
            "departments": list(t.departments),
            "groups": list(t.groups),
            "is_default": t.is_default,
            "inline_logo": t.inline_logo,
            "logo_png_base64": base64.b64encode(bytes(t.logo)).decode() if t.logo else "",
            "updated_at": t.updated_at.isoformat(),
        }
        for t in SignatureTemplate.objects.filter(organisation=organisation).order_by("name", "pk")
    ]
