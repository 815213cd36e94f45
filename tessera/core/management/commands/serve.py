"""Run the whole product in one process: ASGI server (HTTP and WebSocket) plus the task worker."""

import importlib
import logging
import multiprocessing
import os
import signal

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from tessera.core.worker import embedded_consumer

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Serve Tessera on one port, with an in-process task worker."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Tasks are run by separate consumers.")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help=(
                "ASGI worker processes sharing the port (needs REDIS_URL if > 1). Meeting rooms keep their"
                " live state in one process: a node that serves /ws/ runs one process per port behind"
                " the room-affinity upstream (docs/decisions/0005-room-affinity.md)."
            ),
        )
        parser.add_argument(
            "--server",
            choices=("granian", "uvicorn"),
            default=os.environ.get("TESSERA_ASGI_SERVER", "uvicorn"),
            help=(
                "ASGI server (default: uvicorn, or TESSERA_ASGI_SERVER). granian serves the public card"
                " page faster; its workers are always processes of their own (docs/performance.md)."
            ),
        )

    def handle(self, *args, host, port, no_worker, workers, server, **options):
        consumer = None
        if not no_worker:
            consumer = embedded_consumer()
            consumer.start()
            # The consumer installed its own handlers; the ASGI server owns Ctrl-C and SIGTERM.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        url = f"http://{host}:{port}"
        self.stdout.write(
            self.style.SUCCESS(f"\n  Tessera is running on {url}\n")
            + "  Create the first staff account in another terminal with:  make admin\n"
            + f"  The back-office is at {url}/admin/ (staff need two-factor authentication).\n"
            + f"  Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
            + f" · server: {server} · tasks: {'separate consumers' if no_worker else 'in-process'}"
            + f" · email: {'SMTP relay' if settings.EMAIL_URL else 'local outbox (see the back-office)'}\n"
            + "  Press Ctrl-C to stop.\n"
        )
        try:
            if server == "granian":
                granian_run(host=host, port=port, workers=workers)
            else:
                uvicorn.run(
                    "tessera.asgi:application",
                    host=host,
                    port=port,
                    workers=workers if workers > 1 else None,
                    lifespan="off",
                    log_level="warning",
                    proxy_headers=True,
                    ws_max_size=64 * 1024,
                )
        except KeyboardInterrupt:
            pass
        finally:
            if consumer is not None:
                consumer.stop(graceful=True)
                self.stdout.write("Worker stopped.")


def granian_application():
    """The product's ASGI application as granian's workers load it, trusting proxy headers as uvicorn does."""
    from granian.utils.proxies import wrap_asgi_with_proxy_headers

    # By name, as uvicorn loads "tessera.asgi:application": core never imports the apps' composition.
    application = importlib.import_module("tessera.asgi").application

    trusted = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
    return wrap_asgi_with_proxy_headers(application, trusted_hosts=trusted)


def granian_run(*, host: str, port: int, workers: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    # Workers start in a fresh interpreter, as uvicorn's do: forking would copy the task worker's threads.
    multiprocessing.set_start_method("spawn", force=True)
    Granian(
        f"{__name__}:granian_application",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGINL,  # no lifespan, as with uvicorn's lifespan="off"
        workers=workers,
        log_level=LogLevels.warning,
        websockets=True,
    ).serve()
