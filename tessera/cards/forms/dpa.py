"""The organisation administrator's acceptance of the data processing agreement."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tessera.privacy.dpa import dpa_current

NAME_MAX = 200  # tessera.privacy.dpa.NAME_MAX: the service refuses longer values too


class DpaAcceptForm(forms.Form):
    accept = forms.BooleanField(
        required=True,
        error_messages={"required": _("Tick the box to accept the agreement on behalf of the organisation.")},
    )
    name = forms.CharField(label=_("Your full name"), max_length=NAME_MAX)
    role = forms.CharField(label=_("Your role in the organisation"), max_length=NAME_MAX)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accept"].label = _(
            "I accept the data processing agreement on behalf of %(organisation)s"
        ) % {"organisation": organisation.name}
        self.fields["name"].error_messages["required"] = _("Give your full name.")
        self.fields["role"].error_messages["required"] = _("Give your role in the organisation.")

    def clean_name(self):
        return " ".join(self.cleaned_data["name"].split())

    def clean_role(self):
        return " ".join(self.cleaned_data["role"].split())


def dpa_accept_form(*, organisation, data=None) -> DpaAcceptForm:
    """The acceptance form for the current version (bound to `data` if given)."""
    return DpaAcceptForm(data, organisation=organisation, initial={"version": dpa_current().number})
