from django.shortcuts import render
from django.utils.translation import gettext as _


def csrf_failure(request, reason=""):
    return render(
        request,
        "core/error.html",
        {
            "title": _("This form has expired"),
            "message": _(
                "For your security the form could not be accepted. Go back, reload the page and try again."
            ),
        },
        status=403,
    )
