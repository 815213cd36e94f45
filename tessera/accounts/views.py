from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def account_home(request):
    memberships = request.user.memberships.select_related("organisation")
    return render(request, "accounts/home.html", {"memberships": memberships})
