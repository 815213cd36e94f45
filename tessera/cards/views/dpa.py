"""The organisation's acceptance of the data processing agreement, from its settings."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from tessera.core.ratelimit import rate_limited
from tessera.privacy import dpa as privacy_dpa

from ..forms.dpa import dpa_accept_form
from .access import administered


@login_required
@rate_limited("cards.dpa", limit=30, period=3600, key=lambda r: f"user:{r.user.pk}")
def org_dpa(request, org_slug):
    """GET: the organisation's agreement status and the form; POST: accept the version the form showed."""
    organisation = administered(request, org_slug)
    form = dpa_accept_form(organisation=organisation, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        current = privacy_dpa.dpa_current()
        if form.cleaned_data["version"] != current.number:
            # A version published while the form was open: accept only what the person was shown, and show
            # the form again for the new version, keeping what they typed.
            data = request.POST.copy()
            data["version"] = str(current.number)
            form = dpa_accept_form(organisation=organisation, data=data)
            form.is_valid()
            form.add_error(
                None, _("A newer version of the agreement was published: read it, then accept it.")
            )
        else:
            try:
                privacy_dpa.dpa_accept(
                    organisation=organisation,
                    user=request.user,
                    name=form.cleaned_data["name"],
                    role=form.cleaned_data["role"],
                    version=current,
                    request=request,
                )
            except privacy_dpa.DpaError:
                form.add_error(None, _("The agreement could not be accepted. Check the name and the role."))
            else:
                messages.success(request, _("The data processing agreement is accepted."))
                return redirect("cards:org_dpa", org_slug=org_slug)
    return render(
        request,
        "cards/org_dpa.html",
        {
            "organisation": organisation,
            "dpa": privacy_dpa.dpa_status(organisation=organisation),
            "dpa_form": form,
        },
        status=400 if form.errors else 200,
    )
