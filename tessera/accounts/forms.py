from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SignupForm(forms.Form):
    """Extra fields of allauth's sign-up form."""

    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    age_confirmed = forms.BooleanField(
        label=_("I am 16 or older"),
        required=True,
        error_messages={"required": _("You must be 16 or older to create an account.")},
    )

    def signup(self, request, user):
        user.full_name = self.cleaned_data.get("full_name", "")
        user.age_confirmed_at = timezone.now()
        user.language = getattr(request, "LANGUAGE_CODE", "fr")
        user.save(update_fields=["full_name", "age_confirmed_at", "language"])
