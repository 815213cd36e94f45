from allauth.account.decorators import secure_admin_login
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from tessera.api import api

admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Tessera"
admin.site.site_title = "Tessera"

urlpatterns = [
    path("api/v1/", api.urls),
    path("c/", include("tessera.cards.public_urls")),
    path("scim/v2/", include("tessera.directory.scim.urls")),
    path("s/", include("tessera.signatures.public_urls")),
]

# French is the default and has no prefix; English lives under /en/. No cookie remembers the choice.
urlpatterns += i18n_patterns(
    path("", include("tessera.site.urls")),
    path("", include("tessera.support.urls")),
    path("privacy/", include("tessera.privacy.urls")),
    path("", include("tessera.meetings.urls")),
    path("cards/", include("tessera.cards.urls")),
    path("", include("tessera.directory.urls")),
    path("", include("tessera.signatures.urls")),
    path("", include("tessera.meetings.room.urls")),
    path("accounts/", include("tessera.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    prefix_default_language=False,
)
