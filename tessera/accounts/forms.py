from django import forms
from django.urls import reverse_lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


class SignupForm(forms.Form):
    """Extra fields of allauth's sign-up forms (password sign-up and Google/Microsoft sign-up).

    allauth builds its forms on this class; AccountAdapter.save_user stores these fields together with
    the new user, in one INSERT.
    """

    field_order = ["full_name", "email", "password1", "password2", "age_confirmed", "terms_accepted"]

    full_name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    age_confirmed = forms.BooleanField(
        label=_("I am 16 or older"),
        required=True,
        error_messages={"required": _("You must be 16 or older to create an account.")},
    )

    # Privacy records the accepted version when allauth signals the sign-up (it sits above accounts).
    terms_accepted = forms.BooleanField(
        label=_("I accept the terms of use"),
        help_text=format_lazy('<a href="{}">{}</a>', reverse_lazy("terms"), _("Read the terms of use")),
        required=True,
        error_messages={"required": _("You must accept the terms of use to create an account.")},
    )

    def signup(self, request, user):
        """Called by allauth after the user is saved; everything was already stored by the adapter."""


class WelcomeForm(forms.Form):
    """The password a directory-provisioned person chooses with their welcome link."""

    password1 = forms.CharField(
        label=_("Choose a password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("The same password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    age_confirmed = forms.BooleanField(
        label=_("I am 16 or older"),
        error_messages={"required": _("You must be 16 or older to create an account.")},
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data
