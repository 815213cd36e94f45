import pytest
from aiosmtpd.controller import Controller

from tests.conftest import SMTPServer, _Handler


class _PolicyHandler(_Handler):
    """Accepts mail like the common handler, but answers RCPT and DATA as the test's policy says."""

    def __init__(self, mailbox, policy):
        super().__init__(mailbox)
        self.policy = policy

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        for fragment, answer in self.policy.rcpt.items():
            if fragment in address:
                return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.policy.data:
            return self.policy.data
        self.policy.connections.append(session.peer)
        return await super().handle_DATA(server, session, envelope)


class Relay(SMTPServer):
    """A real SMTP server on a fixed loopback port: stop it and connections are refused.

    `rcpt` maps an address fragment to the answer given to RCPT TO (e.g. a 550 or a 451);
    `data`, if set, is the answer to every DATA; `connections` lists the client end of the connection
    that carried each accepted message.
    """

    def __init__(self):
        super().__init__()
        self.rcpt: dict[str, str] = {}
        self.data = ""
        self.connections: list = []

    @property
    def messages(self):
        return self.mailbox.messages

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]

    def start(self):
        self.controller = Controller(
            _PolicyHandler(self.mailbox, self), hostname="127.0.0.1", port=self.mailbox.port
        )
        self.controller.start()


@pytest.fixture
def relay(settings):
    """A relay that is configured but not started: start() and stop() it at will."""
    server = Relay()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.mailbox.port
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def staff_user(django_user_model):
    """A superuser with a second factor, as the back-office requires."""
    from allauth.mfa.models import Authenticator

    user = django_user_model.objects.create_superuser(email="staff@example.org", password="not-used-here")
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "unused"})
    return user


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
