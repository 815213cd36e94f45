"""Forms of an organisation's administration: invitations, settings, templates, members and integrations."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Membership

from ..models import LOCKABLE, LOCKABLE_FIELDS, LOCKABLE_LISTS, CardsSettings, CardTemplate
from . import EMAIL_LABELS, PHONE_LABELS, SCALAR_LABELS


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    first_name = forms.CharField(label=_("First name"), required=False, max_length=80)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=80)
    role = forms.ChoiceField(label=_("Role"), choices=[("member", _("member")), ("admin", _("admin"))])


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file (columns: email, first_name, last_name, job_title, department, role)")
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 1024 * 1024:
            raise ValidationError(_("The file is too large; the limit is 1 MB."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(_("The file must be a CSV encoded in UTF-8.")) from None


class SettingsForm(forms.ModelForm):
    class Meta:
        model = CardsSettings
        fields = ["admins_see_leads", "inactive_action", "hand_back_cards"]


LIST_LOCKS = {
    "phones": (
        _("Phone numbers"),
        _(
            "One per line, its type first: “work +33 1 23 45 67 89” (work, mobile or personal). Filled in: they replace the members' own."
        ),
    ),
    "emails": (
        _("Email addresses"),
        _(
            "One per line, its type first: “work contact@example.org”. Filled in: they replace the members' own."
        ),
    ),
    "links": (
        _("Social links"),
        _(
            "One per line: “LinkedIn | https://www.linkedin.com/company/…”. Filled in: they replace the members' own."
        ),
    ),
}


def list_lines_parse(name: str, text: str) -> list[dict]:
    """The template editor's lines as profile items; the service validates them (numbers, addresses, URLs)."""
    items = []
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        if name == "links":
            label, _bar, url = line.rpartition("|")
            items.append({"label": label.strip(), "url": url.strip(), "public": True})
            continue
        kinds = PHONE_LABELS if name == "phones" else EMAIL_LABELS
        kind, _space, rest = line.partition(" ")
        if kind not in kinds or not rest.strip():
            kind, rest = "work", line
        key = "number" if name == "phones" else "address"
        items.append({"kind": kind, key: rest.strip(), "public": True})
    return items


def list_lines_format(name: str, items: list) -> str:
    if name == "links":
        return "\n".join(f"{i['label']} | {i['url']}" for i in items)
    key = "number" if name == "phones" else "address"
    return "\n".join(f"{i['kind']} {i[key]}" for i in items)


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    primary_colour = forms.CharField(
        label=_("Primary colour"), widget=forms.TextInput(attrs={"type": "color"})
    )
    background_colour = forms.CharField(
        label=_("Background colour"), widget=forms.TextInput(attrs={"type": "color"})
    )
    text_colour = forms.CharField(label=_("Text colour"), widget=forms.TextInput(attrs={"type": "color"}))
    font = forms.ChoiceField(label=_("Font"), choices=CardTemplate.Font.choices)
    layout = forms.ChoiceField(label=_("Layout"), choices=CardTemplate.Layout.choices)
    logo = forms.FileField(label=_("Logo (PNG, JPEG or WebP)"), required=False)
    departments = forms.CharField(label=_("Departments using it (separated by commas)"), required=False)
    groups = forms.CharField(label=_("Groups using it (separated by commas)"), required=False)
    is_default = forms.BooleanField(label=_("Default template of the organisation"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in LOCKABLE_FIELDS:
            self.fields[f"lock_{name}"] = forms.CharField(
                label=SCALAR_LABELS[name],
                required=False,
                help_text=_("Filled in: set for every member, who cannot change it."),
            )
        for name, (label, help_text) in LIST_LOCKS.items():
            self.fields[f"lock_{name}"] = forms.CharField(
                label=label, required=False, help_text=help_text, widget=forms.Textarea(attrs={"rows": 3})
            )

    def lock_fields(self):
        return [self[f"lock_{name}"] for name in LOCKABLE]

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "primary_colour": data["primary_colour"],
            "background_colour": data["background_colour"],
            "text_colour": data["text_colour"],
            "font": data["font"],
            "layout": data["layout"],
            "departments": data["departments"].split(","),
            "groups": data["groups"].split(","),
            "is_default": data["is_default"],
            "locked_values": {
                n: data[f"lock_{n}"].strip() for n in LOCKABLE_FIELDS if data[f"lock_{n}"].strip()
            }
            | {
                n: list_lines_parse(n, data[f"lock_{n}"]) for n in LOCKABLE_LISTS if data[f"lock_{n}"].strip()
            },
        }

    @staticmethod
    def initial_for(template) -> dict:
        initial = {
            "name": template.name,
            "primary_colour": template.primary_colour,
            "background_colour": template.background_colour,
            "text_colour": template.text_colour,
            "font": template.font,
            "layout": template.layout,
            "departments": ", ".join(template.departments),
            "groups": ", ".join(template.groups),
            "is_default": template.is_default,
        }
        initial |= {
            f"lock_{n}": list_lines_format(n, v) if n in LOCKABLE_LISTS else v
            for n, v in template.locked_values.items()
        }
        return initial


class AssignForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Template"),
        queryset=CardTemplate.objects.none(),
        required=False,
        empty_label=_("Automatic (department, group or default)"),
    )
    groups = forms.CharField(label=_("Groups (separated by commas)"), required=False)
    department = forms.CharField(label=_("Department"), required=False, max_length=120)

    def __init__(self, *args, organisation=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = CardTemplate.objects.filter(organisation=organisation)


class MemberCardForm(AssignForm):
    """The central member editor: the assignment, and the job details a directory may also feed."""

    job_title = forms.CharField(label=_("Job title"), required=False, max_length=120)
    office = forms.CharField(label=_("Office location"), required=False, max_length=120)
    phones = forms.CharField(
        label=_("Phone numbers"),
        required=False,
        help_text=_("One per line, its type first: “work +33 1 23 45 67 89” (work, mobile or personal)."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    field_order = ["job_title", "department", "office", "phones", "template", "groups"]

    def __init__(self, *args, card=None, **kwargs):
        super().__init__(*args, organisation=card.organisation, **kwargs)
        self.card = card
        if card.directory_fields:
            fed = [
                name
                for name in ("job_title", "department", "office", "phones")
                if name in card.directory_fields
            ]
            for name in fed:
                # Help texts are rendered as HTML: the directory's name is escaped.
                self.fields[name].help_text = escape(
                    _("Kept in step with %(source)s: a change is sent to it.")
                    % {"source": card.directory_source}
                )

    @staticmethod
    def initial_for(card) -> dict:
        return {
            "template": card.template,
            "groups": ", ".join(card.groups),
            "department": card.department,
            "job_title": card.job_title,
            "office": card.office,
            "phones": list_lines_format("phones", card.phones),
        }

    def changes(self) -> dict:
        """The job details; a phone line left as it was keeps whether it shows on the public page."""
        data = self.cleaned_data
        shown = {(p["kind"], p["number"]): p.get("public", True) for p in self.card.phones}
        phones = [
            {**item, "public": shown.get((item["kind"], item["number"]), True)}
            for item in list_lines_parse("phones", data["phones"])
        ]
        changes = {
            "job_title": data["job_title"],
            "department": data["department"],
            "office": data["office"],
            "phones": phones,
        }
        return {name: value for name, value in changes.items() if name in self.data}  # a field sent


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=[("member", _("member")), ("admin", _("admin"))])


class TransferForm(forms.Form):
    new_owner = forms.ModelChoiceField(label=_("New owner"), queryset=Membership.objects.none())
    confirm = forms.BooleanField(
        label=_("I understand that I will no longer be the owner, but an administrator."),
        error_messages={"required": _("Tick the box to confirm the transfer.")},
    )

    def __init__(self, *args, organisation=None, owner=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["new_owner"]
        field.queryset = (
            Membership.objects.filter(organisation=organisation).exclude(user=owner).select_related("user")
        )
        field.label_from_instance = lambda m: f"{m.user.get_full_name()} <{m.user.email}>"


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the key"),
        max_length=100,
        help_text=_("Which tool uses it, for example “CRM sync”: you will see it in the list."),
    )


class WebhookForm(forms.Form):
    url = forms.URLField(
        label=_("Receiver URL"),
        max_length=200,
        assume_scheme="https",
        help_text=_("Each new lead is POSTed there as JSON, signed with the secret shown once."),
    )


class ApiKeyChoiceForm(forms.Form):
    """The key a button acts on: anything but a record number is a bad request, not a missing key."""

    key = forms.IntegerField(min_value=1, max_value=2**63 - 1)


class WebhookChoiceForm(forms.Form):
    """The webhook a button acts on: anything but a record number is a bad request, not a missing hook."""

    hook = forms.IntegerField(min_value=1, max_value=2**63 - 1)
