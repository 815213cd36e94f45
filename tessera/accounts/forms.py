from django import forms
from django.utils.translation import gettext_lazy as _


class SignupForm(forms.Form):
    """Extra fields of allauth's sign-up forms (password sign-up and Google/Microsoft sign-up).

    allauth builds its forms on this class; AccountAdapter.save_user stores these fields together with
    the new user, in one INSERT.
    """

    field_order = ["full_name", "email", "password1", "password2", "age_confirmed"]

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

    def signup(self, request, user):
        """Called by allauth after the user is saved; everything was already stored by the adapter."""
