import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings.base")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from tessera.cards.fastpath import CardPageFastPath  # noqa: E402
from tessera.core.static import StaticFiles  # noqa: E402
from tessera.routing import websocket_urlpatterns  # noqa: E402

# Static files are answered before Django (tessera.core.static), and public card pages from pre-rendered
# bytes when possible (tessera.cards.fastpath).
application = StaticFiles(
    CardPageFastPath(
        ProtocolTypeRouter(
            {
                "http": django_asgi_app,
                "websocket": URLRouter(websocket_urlpatterns),
            }
        )
    )
)
