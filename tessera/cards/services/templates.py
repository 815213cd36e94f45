"""An organisation's card templates: colours with enough contrast, layout, font, logo and locked values."""

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tessera.accounts.models import Organisation

from .. import images
from ..models import LOCKABLE, Card, CardTemplate
from ..selectors import card_template_for
from .validation import profile_clean

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    a, b = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _template_clean(values: dict) -> dict:
    errors = {}
    for name in ("primary_colour", "background_colour", "text_colour"):
        if name in values and not COLOUR.match(values[name] or ""):
            errors[name] = [_("Use a colour like #1a2b3c.")]
    if not errors and {"primary_colour", "background_colour", "text_colour"} <= set(values):
        background = values["background_colour"]
        for name in ("text_colour", "primary_colour"):
            if contrast_ratio(values[name], background) < 4.5:
                errors[name] = [
                    _("Not enough contrast with the background (%(ratio)s:1; WCAG AA needs 4.5:1).")
                    % {"ratio": round(contrast_ratio(values[name], background), 2)}
                ]
        if contrast_ratio(values["primary_colour"], "#ffffff") < 4.5:
            errors.setdefault("primary_colour", []).append(
                _("White text on this colour is not readable enough (WCAG AA needs 4.5:1).")
            )
    if "layout" in values and values["layout"] not in CardTemplate.Layout.values:
        errors["layout"] = [_("Unknown layout.")]
    if "font" in values and values["font"] not in CardTemplate.Font.values:
        errors["font"] = [_("Unknown font.")]
    locked = values.get("locked_values", {})
    if not isinstance(locked, dict) or set(locked) - set(LOCKABLE):
        errors["locked_values"] = [_("Only these fields can be locked: %(f)s.") % {"f": ", ".join(LOCKABLE)}]
    else:
        try:
            values["locked_values"] = profile_clean(locked) if locked else {}
        except ValidationError as error:
            errors["locked_values"] = [f"{k}: {m}" for k, ms in error.message_dict.items() for m in ms]
    if "name" in values and not (values["name"] or "").strip():
        errors["name"] = [_("Give the template a name.")]
    for key in ("departments", "groups"):
        if key in values:
            values[key] = [v.strip() for v in values[key] if v.strip()]
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def template_save(
    *,
    organisation: Organisation,
    template: CardTemplate | None = None,
    logo: tuple[bytes, str] | None = None,
    **values,
) -> CardTemplate:
    values = _template_clean(values)
    if template is None:
        template = CardTemplate(organisation=organisation)
    elif template.organisation_id != organisation.pk:
        raise ValidationError(_("This template belongs to another organisation."))
    for name, value in values.items():
        setattr(template, name, value)
    if logo is not None:
        template.logo = images.logo_png(*logo)
    if template.is_default:
        CardTemplate.objects.filter(organisation=organisation).exclude(pk=template.pk).update(
            is_default=False
        )
    template.save()
    return template


@transaction.atomic
def template_delete(*, template: CardTemplate) -> None:
    template.delete()


def template_for(card: Card) -> CardTemplate | None:
    return card_template_for(card)
