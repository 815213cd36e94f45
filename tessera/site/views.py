from django.shortcuts import render

from tessera.core.http import cookie_free


@cookie_free
def home(request):
    return render(request, "site/home.html")
