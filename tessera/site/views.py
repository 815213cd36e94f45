from django.shortcuts import render

from tessera.core.http import cookie_free


@cookie_free
def home(request):
    return render(request, "site/home.html")


@cookie_free
def security(request):
    return render(request, "site/security.html")
