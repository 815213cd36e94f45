"""Calls to customer-chosen URLs (webhooks) reach public addresses only, pinned to the address checked."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from tessera.core import outbound


class _Echo(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Echo.seen.append((self.headers["Host"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Echo.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def guarded(settings):
    settings.TESSERA_OUTBOUND_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://crm.example.com/hook",
        "https://user:secret@crm.example.com/hook",
        "not a url",
    ],
)
def test_local_private_and_odd_addresses_are_refused_before_any_connection(guarded, url):
    with pytest.raises(outbound.DestinationRefused):
        outbound.url_check(url)


EMBEDDING_A_PRIVATE_IPV4 = [
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:10.0.0.1",  # IPv4-mapped
    "64:ff9b::127.0.0.1",  # NAT64, well-known prefix
    "64:ff9b::a9fe:a9fe",  # NAT64 to the metadata service 169.254.169.254
    "64:ff9b:1::808:808",  # NAT64, local-use prefix: never public, whatever it embeds
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:c0a8:0001::1",  # 6to4 of 192.168.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
]


@pytest.mark.parametrize("address", EMBEDDING_A_PRIVATE_IPV4)
def test_ipv6_forms_that_lead_to_a_private_ipv4_address_are_refused(guarded, monkeypatch, address):
    with pytest.raises(outbound.DestinationRefused):
        outbound.url_check(f"http://[{address}]/hook")
    monkeypatch.setattr(outbound.socket, "getaddrinfo", lambda *a, **k: [(0, 0, 0, "", (address, 443, 0, 0))])
    with pytest.raises(outbound.DestinationRefused):
        outbound.resolve("crm.example.com", 443)


@pytest.mark.parametrize(
    "address", ["64:ff9b::8.8.8.8", "2002:808:808::1", "::ffff:8.8.8.8", "2606:4700::1111"]
)
def test_ipv6_forms_that_lead_to_a_public_ipv4_address_pass(guarded, monkeypatch, address):
    assert outbound.url_check(f"https://[{address}]/hook")
    monkeypatch.setattr(outbound.socket, "getaddrinfo", lambda *a, **k: [(0, 0, 0, "", (address, 443, 0, 0))])
    assert outbound.resolve("crm.example.com", 443) == [address]


def test_a_public_name_passes_the_static_check(guarded):
    assert (
        outbound.url_check("https://crm.example.com/hooks/tessera") == "https://crm.example.com/hooks/tessera"
    )


def test_a_name_that_resolves_to_loopback_is_refused_and_nothing_is_sent(guarded, receiver):
    # "localhost" is refused by name; a name of any other form that resolves to loopback by address.
    with pytest.raises(outbound.DestinationRefused):
        outbound.resolve("localhost", receiver)
    with httpx.Client() as client, pytest.raises(outbound.DestinationRefused):
        outbound.post(f"http://localhost:{receiver}/hook", content=b"{}", headers={}, client=client)
    assert _Echo.seen == []


def test_the_request_goes_to_the_checked_address_with_the_original_host(settings, receiver):
    settings.TESSERA_OUTBOUND_ALLOW_PRIVATE = True
    with httpx.Client() as client:
        response = outbound.post(
            f"http://localhost:{receiver}/hook", content=b'{"a":1}', headers={}, client=client
        )
    assert response.status_code == 204
    assert response.request.url.host in {"127.0.0.1", "::1"}  # connected to the resolved address
    assert _Echo.seen == [(f"localhost:{receiver}", b'{"a":1}')]


@pytest.mark.django_db
def test_a_webhook_to_a_private_address_is_refused_when_created_and_when_delivered(guarded, receiver):
    from django.core.exceptions import ValidationError
    from django.utils import translation

    from tessera.cards import services
    from tessera.cards.models import LeadWebhook, WebhookDelivery
    from tests.factories import OrganisationFactory

    organisation = OrganisationFactory(name="Acme")
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.webhook_create(organisation=organisation, url="http://169.254.169.254/latest/meta-data/")
    assert "public internet address" in str(refused.value)
    assert LeadWebhook.objects.count() == 0
    # A hook whose name resolves to loopback later (stored before the rule, or DNS changed): not called.
    hook = LeadWebhook.objects.create(
        organisation=organisation, url=f"http://localhost:{receiver}/hook", secret="s" * 43
    )
    delivery = WebhookDelivery.objects.create(webhook=hook, payload={"event": "ping"})
    assert services.webhook_deliver(delivery_id=delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.status == "pending" and "DestinationRefused" in delivery.last_error
    assert _Echo.seen == []


def _self_signed(tmp_path):
    """A certificate for the name `localhost` only, and its key, as PEM files."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_tls_is_verified_against_the_name_although_the_connection_goes_to_the_address(settings, tmp_path):
    import ssl

    settings.TESSERA_OUTBOUND_ALLOW_PRIVATE = True
    cert_path, key_path = _self_signed(tmp_path)
    _Echo.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Echo)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    trust = ssl.create_default_context(cafile=str(cert_path))
    try:
        with httpx.Client(verify=trust) as client:
            ok = outbound.post(f"https://localhost:{port}/hook", content=b"{}", headers={}, client=client)
            assert ok.status_code == 204 and ok.request.url.host == "127.0.0.1"
            # The same address under a name the certificate does not hold is refused by TLS.
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                client.post(
                    f"https://127.0.0.1:{port}/hook",
                    content=b"{}",
                    extensions={"sni_hostname": "crm.example.com"},
                )
    finally:
        server.shutdown()
