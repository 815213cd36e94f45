"""Views that exist only for tests of tessera.core, mounted in front of the product's own URLs."""

from django.contrib import messages
from django.http import HttpResponse
from django.template import engines
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from tessera.core.http import cookie_free, permissions, signed_form_csrf
from tessera.core.ratelimit import rate_limited
from tessera.urls import urlpatterns as product_urlpatterns

FORM = engines["django"].from_string('<form method="post">{% csrf_token %}<button>Send</button></form>')


def _form(request):
    if request.method == "POST":
        return HttpResponse("accepted")
    return HttpResponse(FORM.render(request=request))


@cookie_free
def chatty(request):
    """Everything that would normally set a cookie."""
    request.session["visited"] = True
    messages.info(request, "Welcome back")
    response = HttpResponse("ok")
    response.set_cookie("tracker", "1")
    return response


@permissions("camera", "microphone")
@cookie_free
def room(request):
    return HttpResponse("room")


# Rate-limit tests post without forms.
@csrf_exempt
@rate_limited("test.per_ip", limit=2, period=60)
def limited(request):
    return HttpResponse("ok")


@csrf_exempt
@rate_limited("test.per_email", limit=2, period=60, key=lambda request: request.POST.get("email", "").lower())
def limited_by_email(request):
    return HttpResponse("ok")


@csrf_exempt
@rate_limited("test.async", limit=1, period=60)
async def limited_async(request):
    return HttpResponse("ok")


urlpatterns = [
    path("_test/chatty/", chatty),
    path("_test/public-form/", cookie_free(_form)),
    path("_test/form/", _form),
    path("_test/signed-form/", signed_form_csrf(_form)),
    path("_test/room/", room),
    path("_test/limited/", limited),
    path("_test/limited-by-email/", limited_by_email),
    path("_test/limited-async/", limited_async),
    *product_urlpatterns,
]
