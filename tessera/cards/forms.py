from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Membership

from .fields import PROFILE_ADDRESS, PROFILE_IDENTITY, PROFILE_TEXTS
from .images import MAX_UPLOAD_BYTES
from .models import (
    LOCKABLE,
    LOCKABLE_FIELDS,
    LOCKABLE_LISTS,
    VISIBILITY_FIELDS,
    Card,
    CardsSettings,
    CardTemplate,
    Lead,
    Visibility,
)
from .services import consent_text

PHONE_SLOTS, EMAIL_SLOTS, LINK_SLOTS, CUSTOM_SLOTS = 3, 3, 4, 3
PHONE_LABELS = {"work": _("work"), "mobile": _("mobile"), "personal": _("personal")}
EMAIL_LABELS = {"work": _("work"), "personal": _("personal")}
SCALAR_LABELS = {name: capfirst(Card._meta.get_field(name).verbose_name) for name in PROFILE_TEXTS}
VISIBILITY_LABELS = {
    "job_title": _("Job title"),
    "company": _("Company"),
    "department": _("Department"),
    "bio": _("Short bio"),
    "website": _("Website"),
    "address": _("Postal address"),
    "photo": _("Photo"),
}


class ProfileForm(forms.Form):
    """Flat HTML fields for the profile; the service validates the assembled values."""

    def __init__(self, *args, locked: dict | None = None, admin_only=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.locked = locked or {}
        self.admin_only = set(admin_only) - set(self.locked)
        for name, label in SCALAR_LABELS.items():
            widget = forms.Textarea(attrs={"rows": 3}) if name == "bio" else None
            field = forms.CharField(label=label, required=False, widget=widget)
            if name in self.locked:
                field.disabled = True
                field.help_text = _("Set by your organisation.")
            elif name in self.admin_only:
                field.disabled = True
                field.help_text = _(
                    "It chooses your card's template: your organisation's administrators set it."
                )
            self.fields[name] = field
        self._slots()
        for prefix, name, key in (
            ("phone", "phones", "number"),
            ("email", "emails", "address"),
            ("link", "links", "url"),
        ):
            if name in self.locked:
                for field_name, field in self.fields.items():
                    if field_name.startswith(f"{prefix}_"):
                        field.disabled = True
                self.fields[f"{prefix}_0_{key}"].help_text = _("Set by your organisation.")

    def _slots(self):
        for i in range(PHONE_SLOTS):
            self.fields[f"phone_{i}_kind"] = forms.ChoiceField(
                label=_("Phone %(n)s type") % {"n": i + 1}, choices=list(PHONE_LABELS.items()), required=False
            )
            self.fields[f"phone_{i}_number"] = forms.CharField(
                label=_("Phone %(n)s") % {"n": i + 1},
                required=False,
                widget=forms.TextInput(attrs={"type": "tel"}),
            )
            self.fields[f"phone_{i}_public"] = forms.BooleanField(
                label=_("Show on the public page"), required=False
            )
        for i in range(EMAIL_SLOTS):
            self.fields[f"email_{i}_kind"] = forms.ChoiceField(
                label=_("Email %(n)s type") % {"n": i + 1}, choices=list(EMAIL_LABELS.items()), required=False
            )
            self.fields[f"email_{i}_address"] = forms.CharField(
                label=_("Email %(n)s") % {"n": i + 1},
                required=False,
                widget=forms.TextInput(attrs={"type": "email"}),
            )
            self.fields[f"email_{i}_public"] = forms.BooleanField(
                label=_("Show on the public page"), required=False
            )
        for i in range(LINK_SLOTS):
            self.fields[f"link_{i}_label"] = forms.CharField(
                label=_("Link %(n)s label") % {"n": i + 1}, required=False
            )
            self.fields[f"link_{i}_url"] = forms.CharField(
                label=_("Link %(n)s address") % {"n": i + 1},
                required=False,
                widget=forms.TextInput(attrs={"type": "url"}),
            )
            self.fields[f"link_{i}_public"] = forms.BooleanField(
                label=_("Show on the public page"), required=False
            )
        for i in range(CUSTOM_SLOTS):
            self.fields[f"custom_{i}_label"] = forms.CharField(
                label=_("Custom field %(n)s label") % {"n": i + 1}, required=False
            )
            self.fields[f"custom_{i}_value"] = forms.CharField(
                label=_("Custom field %(n)s value") % {"n": i + 1}, required=False
            )
            self.fields[f"custom_{i}_public"] = forms.BooleanField(
                label=_("Show on the public page"), required=False
            )
        for name, label in VISIBILITY_LABELS.items():
            self.fields[f"visibility_{name}"] = forms.ChoiceField(
                label=label, choices=Visibility.choices, initial=Visibility.PUBLIC
            )

    @staticmethod
    def initial_for(card, locked: dict | None = None) -> dict:
        """The form's values for `card`; what the organisation locks shows instead of the card's own."""
        locked = locked or {}
        initial = {name: locked.get(name, getattr(card, name)) for name in SCALAR_LABELS}
        phones, emails, links = (locked.get(n, getattr(card, n)) for n in ("phones", "emails", "links"))
        for i, item in enumerate(phones[:PHONE_SLOTS]):
            initial |= {
                f"phone_{i}_kind": item["kind"],
                f"phone_{i}_number": item["number"],
                f"phone_{i}_public": item["public"],
            }
        for i, item in enumerate(emails[:EMAIL_SLOTS]):
            initial |= {
                f"email_{i}_kind": item["kind"],
                f"email_{i}_address": item["address"],
                f"email_{i}_public": item["public"],
            }
        for i, item in enumerate(links[:LINK_SLOTS]):
            initial |= {
                f"link_{i}_label": item["label"],
                f"link_{i}_url": item["url"],
                f"link_{i}_public": item["public"],
            }
        for i, item in enumerate(card.custom_fields[:CUSTOM_SLOTS]):
            initial |= {
                f"custom_{i}_label": item["label"],
                f"custom_{i}_value": item["value"],
                f"custom_{i}_public": item["public"],
            }
        for name in VISIBILITY_FIELDS:
            initial[f"visibility_{name}"] = card.visibility.get(name, Visibility.PUBLIC)
        return initial

    def changes(self) -> dict:
        data = self.cleaned_data
        fixed = set(self.locked) | self.admin_only
        changes = {name: data[name] for name in SCALAR_LABELS} | self._lists(data)
        return {k: v for k, v in changes.items() if k not in fixed}

    def _lists(self, data) -> dict:
        changes = {}
        changes["phones"] = [
            {
                "kind": data[f"phone_{i}_kind"] or "work",
                "number": data[f"phone_{i}_number"],
                "public": data[f"phone_{i}_public"],
            }
            for i in range(PHONE_SLOTS)
            if data[f"phone_{i}_number"].strip()
        ]
        changes["emails"] = [
            {
                "kind": data[f"email_{i}_kind"] or "work",
                "address": data[f"email_{i}_address"],
                "public": data[f"email_{i}_public"],
            }
            for i in range(EMAIL_SLOTS)
            if data[f"email_{i}_address"].strip()
        ]
        changes["links"] = [
            {
                "label": data[f"link_{i}_label"],
                "url": data[f"link_{i}_url"],
                "public": data[f"link_{i}_public"],
            }
            for i in range(LINK_SLOTS)
            if data[f"link_{i}_url"].strip() or data[f"link_{i}_label"].strip()
        ]
        changes["custom_fields"] = [
            {
                "label": data[f"custom_{i}_label"],
                "value": data[f"custom_{i}_value"],
                "public": data[f"custom_{i}_public"],
            }
            for i in range(CUSTOM_SLOTS)
            if data[f"custom_{i}_label"].strip() or data[f"custom_{i}_value"].strip()
        ]
        changes["visibility"] = {name: data[f"visibility_{name}"] for name in VISIBILITY_FIELDS}
        return changes

    def add_service_errors(self, error: ValidationError) -> None:
        """Map the service's errors (phones, links...) onto the form."""
        slot_field = {
            "phones": "phone_0_number",
            "emails": "email_0_address",
            "links": "link_0_url",
            "custom_fields": "custom_0_label",
        }
        for name, messages in error.message_dict.items():
            target = name if name in self.fields else slot_field.get(name)
            for message in messages:
                self.add_error(target, message)

    def groups(self):
        """Field groups for the template: (legend, [rows of bound fields])."""
        return {
            "phones": [
                [self[f"phone_{i}_kind"], self[f"phone_{i}_number"], self[f"phone_{i}_public"]]
                for i in range(PHONE_SLOTS)
            ],
            "emails": [
                [self[f"email_{i}_kind"], self[f"email_{i}_address"], self[f"email_{i}_public"]]
                for i in range(EMAIL_SLOTS)
            ],
            "links": [
                [self[f"link_{i}_label"], self[f"link_{i}_url"], self[f"link_{i}_public"]]
                for i in range(LINK_SLOTS)
            ],
            "custom": [
                [self[f"custom_{i}_label"], self[f"custom_{i}_value"], self[f"custom_{i}_public"]]
                for i in range(CUSTOM_SLOTS)
            ],
            "identity": [self[n] for n in PROFILE_IDENTITY],
            "address": [self[n] for n in PROFILE_ADDRESS],
            "visibility": [self[f"visibility_{n}"] for n in VISIBILITY_FIELDS],
        }


class PhotoForm(forms.Form):
    photo = forms.FileField(label=_("Photo (JPEG, PNG or WebP, at most 5 MB)"))

    def clean_photo(self):
        upload = self.cleaned_data["photo"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("The image is too large; the limit is 5 MB."))
        return upload


class ExchangeForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.CharField(
        label=_("Your email"), widget=forms.TextInput(attrs={"type": "email", "autocomplete": "email"})
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    company = forms.CharField(
        label=_("Company (optional)"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    job_title = forms.CharField(
        label=_("Job title (optional)"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    message = forms.CharField(
        label=_("Message (optional)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    consent = forms.BooleanField(label="", required=False)
    challenge = forms.CharField(widget=forms.HiddenInput, required=False)
    nonce = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consent"].label = consent_text()


class LeadForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Lead.Status.choices)
    tags = forms.CharField(label=_("Tags (separated by commas)"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 5}))


class OrganisationForm(forms.Form):
    name = forms.CharField(label=_("Organisation name"), max_length=200)


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


class AcceptForm(forms.Form):
    full_name = forms.CharField(
        label=_("Full name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = forms.CharField(
        label=_("Choose a password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    age_confirmed = forms.BooleanField(
        label=_("I am 16 or older"),
        error_messages={"required": _("You must be 16 or older to create an account.")},
    )


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
