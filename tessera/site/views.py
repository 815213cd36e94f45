from django.conf import settings
from django.shortcuts import render

from tessera.core.http import cookie_free
from tessera.privacy.dpa import dpa_current
from tessera.privacy.dpa.annexes import annexes
from tessera.privacy.policy.subprocessors import subprocessor_rows
from tessera.privacy.terms import terms_current

from .faq import faq_entries


@cookie_free
def home(request):
    return render(request, "site/home.html")


@cookie_free
def security(request):
    return render(request, "site/security.html")


@cookie_free
def faq(request):
    return render(request, "site/faq.html", {"entries": faq_entries()})


@cookie_free
def meetings(request):
    return render(request, "site/meetings.html")


@cookie_free
def cards(request):
    return render(request, "site/cards.html")


@cookie_free
def legal(request):
    return render(request, "site/legal.html", {"legal": settings.TESSERA_LEGAL})


@cookie_free
def terms(request):
    return render(request, "site/terms.html", {"version": terms_current()})


@cookie_free
def subprocessors(request):
    return render(request, "site/subprocessors.html", {"processors": subprocessor_rows()})


@cookie_free
def dpa(request):
    """The data processing agreement: its current version's text, then its annexes read from the register."""
    return render(
        request,
        "site/dpa.html",
        {"version": dpa_current(), "annexes": annexes(), "legal": settings.TESSERA_LEGAL},
    )
