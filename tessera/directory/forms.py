"""Forms of the integration page: the Entra ID settings and the group mappings."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import mapping
from .models import Connection, ExternalGroup
from .selectors import CARD_FIELD_LABELS

# A DNS name: labels of letters, digits and hyphens, at least one dot.
DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")
MAX_DOMAINS = 20
ROLE_CHOICES = [("", _("no role given")), ("member", _("member")), ("admin", _("admin"))]


class DomainsField(forms.CharField):
    """Domains separated by commas, spaces or new lines, lower-cased, each checked."""

    def to_python(self, value):
        text = super().to_python(value) or ""
        if self.max_length and len(text) > self.max_length:
            raise ValidationError(
                _("Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).")
                % {"limit_value": self.max_length, "show_value": len(text)},
                code="max_length",
            )
        return [part for part in re.split(r"[\s,;]+", text.strip().lower()) if part]

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        bad = [domain for domain in value if not DOMAIN.match(domain)]
        if bad:
            raise ValidationError(
                _("Not a domain name: %(domains)s.") % {"domains": ", ".join(bad[:5])}, code="invalid"
            )
        if len(value) > MAX_DOMAINS:
            raise ValidationError(_("At most %(count)d domains.") % {"count": MAX_DOMAINS}, code="invalid")

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value


class ConnectionSettingsForm(forms.Form):
    """Who gets a card, which attribute feeds which card field, and whether the delta sync runs by itself."""

    scope = forms.ChoiceField(
        label=_("Who gets a card"), choices=Connection.Scope.choices, widget=forms.RadioSelect
    )
    scope_groups = forms.MultipleChoiceField(
        label=_("Groups"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Members of any of these groups get a card."),
    )
    scope_domains = DomainsField(
        label=_("Domains"),
        required=False,
        max_length=2000,
        help_text=_("People whose address ends with one of these domains, separated by commas."),
    )
    sync_enabled = forms.BooleanField(
        label=_("Sync the changes every 15 minutes"),
        required=False,
        help_text=_("Off: the directory is read only when you press “Sync now”."),
    )

    def __init__(self, *args, connection: Connection, groups, **kwargs):
        initial = {
            "scope": connection.scope,
            "scope_groups": list(connection.scope_groups),
            "scope_domains": list(connection.scope_domains),
            "sync_enabled": connection.sync_enabled,
            **{_map_key(field): value for field, value in mapping.attribute_map_of(connection).items()},
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["scope_groups"].choices = [(g.external_id, g.display_name) for g in groups]
        for field in _card_fields():
            self.fields[_map_key(field)] = forms.ChoiceField(
                label=CARD_FIELD_LABELS.get(field, field),
                required=False,
                choices=[("", _("not synced")), *_attributes_for(field)],
            )

    def map_fields(self):
        return [self[_map_key(field)] for field in _card_fields()]

    def scope_fields(self):
        return [self["scope_groups"], self["scope_domains"]]

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == Connection.Scope.GROUPS and not data.get("scope_groups"):
            self.add_error("scope_groups", _("Choose at least one group."))
        if scope == Connection.Scope.DOMAIN and not data.get("scope_domains"):
            self.add_error("scope_domains", _("Give at least one domain."))
        chosen = {field: data.pop(_map_key(field), "") or "" for field in _card_fields()}
        if not any(chosen.values()):
            self.add_error(None, _("Choose at least one attribute to sync."))
        try:
            data["attribute_map"] = mapping.attribute_map_clean(chosen)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(_map_key(field) if _map_key(field) in self.fields else None, messages)
        return data


def _card_fields() -> list[str]:
    order = list(CARD_FIELD_LABELS)
    return sorted(mapping.CARD_FIELDS, key=lambda field: order.index(field) if field in order else len(order))


def _attributes_for(field: str) -> list[tuple[str, str]]:
    """Phone fields take phone attributes only, every other field any text attribute."""
    phone = field in ("work_phone", "mobile_phone")
    return [
        (attribute, label)
        for attribute, label in mapping.ATTRIBUTES.items()
        if (attribute in mapping.PHONE_ATTRIBUTES) == phone
    ]


def _map_key(field: str) -> str:
    return f"map_{field}"


class GroupMappingForm(forms.Form):
    """For each directory group, the card template and the role it gives; the owner role is never offered."""

    def __init__(self, *args, groups, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.groups = list(groups)
        template_choices = [("", _("the organisation's rule")), *list(templates)]
        for group in self.groups:
            self.fields[f"template_{group.pk}"] = forms.ChoiceField(
                label=_("Card template of %(group)s") % {"group": group.display_name},
                choices=template_choices,
                required=False,
                initial=str(group.template) if group.template else "",
            )
            self.fields[f"role_{group.pk}"] = forms.ChoiceField(
                label=_("Role given by %(group)s") % {"group": group.display_name},
                choices=ROLE_CHOICES,
                required=False,
                initial=group.role,
            )

    def rows(self):
        return [(group, self[f"template_{group.pk}"], self[f"role_{group.pk}"]) for group in self.groups]

    def mappings(self) -> dict[ExternalGroup, dict]:
        """{group: {"template": public id or None, "role": "" | "member" | "admin"}} as posted."""
        return {
            group: {
                "template": self.cleaned_data[f"template_{group.pk}"] or None,
                "role": self.cleaned_data[f"role_{group.pk}"],
            }
            for group in self.groups
        }


class GroupCreateForm(forms.Form):
    """A new security group in Entra ID, and what it gives its members here once it exists."""

    display_name = forms.CharField(label=_("Name of the new group"), max_length=256)
    template = forms.ChoiceField(label=_("Card template"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, required=False)

    def __init__(self, *args, templates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", _("the organisation's rule")), *templates]


class GroupRenameForm(forms.Form):
    display_name = forms.CharField(label=_("New name"), max_length=256)


class MemberChoiceForm(forms.Form):
    """A person of the directory to add to a group: one of those the form was given."""

    member = forms.ChoiceField(label=_("Person to add"))

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [("", "—")] + [
            (str(person.pk), person.label) for person in candidates
        ]
