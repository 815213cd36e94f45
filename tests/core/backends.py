from django.core.mail.backends.base import BaseEmailBackend


class WorkerKilledBackend(BaseEmailBackend):
    """The worker process dies after claiming a message and before the relay has it."""

    def send_messages(self, email_messages):
        raise SystemExit("worker killed")
