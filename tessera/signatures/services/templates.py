"""Writes of signature templates: an organisation administrator saves or deletes one."""

import io

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from tessera.core.audit import security_event_record

from ..models import SignatureTemplate
from ..rendering import SignatureRefused, sample_profile, signature_render
from ..selectors import member_profiles
from ..validation import template_compile

LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MAX_PIXELS = 25_000_000  # a decompression bomb is refused before it is decoded
LOGO_BOX = (600, 200)  # twice the size a signature shows it, for sharp high-density screens

STARTER_HTML = """<table role="presentation" cellpadding="0" cellspacing="0" border="0" width="480" style="width:480px;font-family:Arial,Helvetica,sans-serif;font-size:13px;line-height:1.4;color:#1f2937">
<tr>
{% if photo_url %}<td valign="top" width="72" style="padding-right:12px"><img src="{{ photo_url }}" width="64" height="64" alt="{{ name }}" style="display:block;border-radius:32px"></td>{% endif %}
<td valign="top">
<strong style="font-size:15px;color:#111827">{{ name }}</strong><br>
{% if title %}{{ title }}{% endif %}{% if title and department %} · {% endif %}{% if department %}{{ department }}{% endif %}<br>
<span style="color:#4338ca">{{ company }}</span><br>
{% if phone %}<a href="tel:{{ phone_tel }}" style="color:#1f2937;text-decoration:none">{{ phone }}</a><br>{% endif %}
<a href="mailto:{{ email }}" style="color:#4338ca">{{ email }}</a><br>
{% if address %}<span style="color:#6b7280">{{ address }}</span><br>{% endif %}
{% for link in links %}<a href="{{ link.url }}" style="color:#4338ca">{{ link.label|default:link.url }}</a>{% if not forloop.last %} · {% endif %}{% endfor %}
</td>
{% if qr_url %}<td valign="top" width="72" style="padding-left:12px"><a href="{{ card_url }}"><img src="{{ qr_url }}" width="64" height="64" alt="QR"></a></td>{% endif %}
</tr>
{% if logo_url %}<tr><td colspan="3" style="padding-top:8px"><img src="{{ logo_url }}" height="32" alt="{{ organisation }}"></td></tr>{% endif %}
</table>"""


def _logo(data: bytes) -> bytes:
    """The uploaded logo as a PNG no larger than LOGO_BOX; a clear ValidationError for anything else."""
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError({"logo": [_("The logo is over 2 MB.")]})
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > LOGO_MAX_PIXELS:
            raise ValidationError({"logo": [_("The logo has too many pixels.")]})
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ValidationError({"logo": [_("The logo must be a PNG or JPEG image.")]}) from None
    image = image.convert("RGBA")
    image.thumbnail(LOGO_BOX)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _too_long(template: SignatureTemplate, organisation) -> list[str]:
    """The template rendered for the sample member and every member: Gmail's limit must hold for all."""
    profiles = [sample_profile(organisation_name=organisation.name)]
    profiles += list(member_profiles(organisation=organisation).values())
    refused = 0
    for profile in profiles:
        try:
            signature_render(template=template, profile=profile, organisation_name=organisation.name)
        except SignatureRefused as error:
            if not refused:
                first = error.messages[0]
            refused += 1
    if not refused:
        return []
    if refused == 1 and len(profiles) == 1:
        return [first]
    return [
        _("%(count)s of %(total)s signatures would break a rule. First: %(first)s")
        % {"count": refused, "total": len(profiles), "first": first}
    ]


def _names(values) -> list[str]:
    """Names without blanks or case-insensitive repeats (the first spelling is kept), sorted."""
    kept: dict[str, str] = {}
    for value in values:
        if value and value.strip():
            kept.setdefault(value.strip().lower(), value.strip()[:120])
    return sorted(kept.values(), key=str.lower)


@transaction.atomic
def signature_template_save(
    *,
    organisation,
    actor,
    template: SignatureTemplate | None = None,
    name: str,
    html: str,
    departments=(),
    groups=(),
    is_default: bool = False,
    inline_logo: bool = False,
    logo: bytes | None = None,
    logo_remove: bool = False,
    request=None,
) -> SignatureTemplate:
    """Create or change a template; refused (ValidationError by field) if its HTML or logo breaks a rule."""
    if template is not None and template.organisation_id != organisation.pk:
        raise ValidationError(_("This template belongs to another organisation."))
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Give the template a name.")]})
    template_compile(html)
    template = template or SignatureTemplate(organisation=organisation)
    template.name = name[:100]
    template.html = html
    template.departments = _names(departments)
    template.groups = _names(groups)
    template.is_default = bool(is_default)
    template.inline_logo = bool(inline_logo)
    if logo_remove:
        template.logo = b""
    elif logo is not None:
        template.logo = _logo(logo)
    errors = _too_long(template, organisation)
    if errors:
        raise ValidationError({"html": errors})
    template.save()
    if template.is_default:
        # One default per organisation: the last one marked wins.
        SignatureTemplate.objects.filter(organisation=organisation, is_default=True).exclude(
            pk=template.pk
        ).update(is_default=False)
    security_event_record(
        action="signatures.template.saved",
        actor=actor,
        request=request,
        data={"organisation": organisation.pk, "template": template.pk},
    )
    return template


@transaction.atomic
def signature_template_delete(*, template: SignatureTemplate, actor, request=None) -> None:
    security_event_record(
        action="signatures.template.deleted",
        actor=actor,
        request=request,
        data={"organisation": template.organisation_id, "template": template.pk},
    )
    template.delete()
