import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings.base")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from tessera.cards.fastpath import CardPageFastPath  # noqa: E402
from tessera.routing import websocket_urlpatterns  # noqa: E402

# Public card pages are answered from pre-rendered bytes when possible (see tessera.cards.fastpath).
application = CardPageFastPath(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": URLRouter(websocket_urlpatterns),
        }
    )
)
