from django import forms
from django.utils.translation import gettext_lazy as _


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()]


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    html = forms.CharField(
        label=_("HTML of the signature"),
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code", "wrap": "off"}),
        help_text=_(
            "Tables and inline styles, at most 600 px wide. Around the placeholders below, "
            "{% if title %}…{% endif %} and {% for link in links %}…{% endfor %} are allowed."
        ),
    )
    departments = forms.CharField(
        label=_("Assigned to departments"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line. Members of these departments get this signature."),
    )
    groups = forms.CharField(
        label=_("Assigned to directory groups"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line. Used when no department matches."),
    )
    is_default = forms.BooleanField(label=_("Default signature of the organisation"), required=False)
    logo = forms.FileField(label=_("Logo (PNG or JPEG)"), required=False)
    logo_remove = forms.BooleanField(label=_("Remove the logo"), required=False)
    inline_logo = forms.BooleanField(
        label=_("Embed the logo in the signature"),
        required=False,
        help_text=_(
            "No request reaches Tessera when an email is opened. Some webmails (Gmail among them) do not show "
            "embedded images: pushed Gmail signatures keep the link."
        ),
    )

    def values(self) -> dict:
        data = self.cleaned_data
        logo = data.get("logo")
        return {
            "name": data["name"],
            "html": data["html"],
            "departments": _lines(data["departments"]),
            "groups": _lines(data["groups"]),
            "is_default": data["is_default"],
            "inline_logo": data["inline_logo"],
            "logo": logo.read() if logo else None,
            "logo_remove": data["logo_remove"],
        }

    @classmethod
    def initial_for(cls, template) -> dict:
        return {
            "name": template.name,
            "html": template.html,
            "departments": "\n".join(template.departments),
            "groups": "\n".join(template.groups),
            "is_default": template.is_default,
            "inline_logo": template.inline_logo,
        }


class PreviewForm(forms.Form):
    MODES = ("gmail", "outlook", "dark")

    html = forms.CharField(required=False)
    member = forms.IntegerField(required=False)
    mode = forms.ChoiceField(choices=[(m, m) for m in MODES], required=False)
    inline_logo = forms.BooleanField(required=False)
    template = forms.IntegerField(required=False)
