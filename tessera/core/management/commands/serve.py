"""Run the whole product in one process: ASGI server (HTTP and WebSocket) plus the task worker."""

import logging
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

    def handle(self, *args, host, port, no_worker, workers, **options):
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
            + f" · tasks: {'separate consumers' if no_worker else 'in-process'}"
            + f" · email: {'SMTP relay' if settings.EMAIL_URL else 'local outbox (see the back-office)'}\n"
            + "  Press Ctrl-C to stop.\n"
        )
        try:
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
