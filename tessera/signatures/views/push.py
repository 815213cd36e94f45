"""Pushing signatures to Gmail, for an organisation's administrators: choose who, follow the run, cancel."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .. import push_selectors
from ..services.push import PushRefused, signature_push_cancel, signature_push_request
from .access import administered


class PushForm(forms.Form):
    WHO = [
        ("everyone", gettext_lazy("Everyone")),
        ("department", gettext_lazy("A department")),
        ("members", gettext_lazy("Chosen members")),
    ]
    who = forms.ChoiceField(label=gettext_lazy("Push the signatures of"), choices=WHO)
    department = forms.CharField(label=gettext_lazy("Department"), max_length=150, required=False)
    members = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Members"), coerce=int, required=False, choices=()
    )

    def __init__(self, *args, choices: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = [
            (uid, f"{name} <{email}>") for uid, name, email in choices["members"]
        ]
        self.fields["department"].widget = forms.Select(choices=[(d, d) for d in choices["departments"]])

    def clean(self):
        data = super().clean()
        if data.get("who") == "department" and not data.get("department"):
            self.add_error("department", _("Choose a department."))
        if data.get("who") == "members" and not data.get("members"):
            self.add_error("members", _("Choose at least one member."))
        return data

    def target(self) -> dict:
        who = self.cleaned_data["who"]
        if who == "everyone":
            return {"everyone": True}
        if who == "department":
            return {"department": self.cleaned_data["department"]}
        return {"user_ids": self.cleaned_data["members"]}


def _run_or_404(organisation, pk):
    run = push_selectors.push_run_get(organisation=organisation, pk=pk)
    if run is None:
        raise Http404
    return run


@login_required
@never_cache
def push(request, org_slug):
    organisation = administered(request, org_slug)
    choices = push_selectors.push_choices(organisation=organisation)
    form = PushForm(request.POST or None, choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            run = signature_push_request(
                organisation=organisation, actor=request.user, request=request, **form.target()
            )
        except PushRefused as refused:
            for message in refused.messages:
                form.add_error(None, message)
        else:
            return redirect("signatures:push_run", org_slug=org_slug, pk=run.pk)
    return render(
        request,
        "signatures/push.html",
        {
            "organisation": organisation,
            "form": form,
            "setup": push_selectors.push_setup(organisation=organisation),
            "runs": push_selectors.push_runs(organisation=organisation),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@never_cache
@require_GET
def push_run(request, org_slug, pk):
    organisation = administered(request, org_slug)
    run = _run_or_404(organisation, pk)
    return render(
        request,
        "signatures/push_run.html",
        {
            "organisation": organisation,
            "run": run,
            "progress": push_selectors.push_progress(run=run),
            "results": push_selectors.push_results(run=run),
        },
    )


@login_required
@never_cache
@require_GET
def push_status(request, org_slug, pk):
    organisation = administered(request, org_slug)
    return JsonResponse(push_selectors.push_progress(run=_run_or_404(organisation, pk)))


@login_required
@require_POST
def push_cancel(request, org_slug, pk):
    organisation = administered(request, org_slug)
    run = signature_push_cancel(run=_run_or_404(organisation, pk), actor=request.user, request=request)
    messages.info(request, _("The push is being cancelled: members not yet pushed keep their signature."))
    return redirect("signatures:push_run", org_slug=org_slug, pk=run.pk)
