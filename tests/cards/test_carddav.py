"""The public vCard imported into a real CardDAV server (Radicale) started on loopback for the test."""

import socket
import subprocess
import sys
import time
from xml.etree import ElementTree

import httpx
import pytest
import vobject

from tessera.cards import services
from tessera.core import sealing
from tessera.core.models import OutboxMessage

from .conftest import lead_for

DAV = "{DAV:}"
CARDDAV = "{urn:ietf:params:xml:ns:carddav}"
MKCOL_ADDRESSBOOK = b"""<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>
    <D:displayname>Contacts</D:displayname>
  </D:prop></D:set>
</D:mkcol>"""
ADDRESSBOOK_QUERY = b"""<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data/></D:prop>
</C:addressbook-query>"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def carddav(tmp_path):
    """Radicale with no authentication (any user name is accepted) and its storage in a temp folder."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", "", "--server-hosts", f"127.0.0.1:{port}",
         "--auth-type", "none", "--storage-filesystem-folder", str(tmp_path / "collections"),
         "--logging-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, auth=("alice", "any"), timeout=10) as dav:
            deadline = time.monotonic() + 20
            while True:
                try:
                    dav.request("PROPFIND", "/alice/", headers={"Depth": "0"})
                    break
                except httpx.TransportError:
                    assert process.poll() is None, process.stderr.read().decode()
                    assert time.monotonic() < deadline, "Radicale did not start"
                    time.sleep(0.1)
            yield dav
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_public_vcard_imports_into_a_carddav_server(client, card, carddav):
    created = carddav.request("MKCOL", "/alice/contacts/", content=MKCOL_ADDRESSBOOK)
    assert created.status_code == 201, created.text
    data = client.get(f"/c/{card.slug}/vcard").content
    headers = {"Content-Type": "text/vcard; charset=utf-8"}

    # RFC 6352 5.1: a server refuses a vCard without UID; the same card with its UID line removed shows why.
    without_uid = b"".join(line for line in data.splitlines(True) if not line.startswith(b"UID:"))
    assert without_uid != data
    assert carddav.put("/alice/contacts/no-uid.vcf", content=without_uid, headers=headers).status_code == 400

    stored = carddav.put("/alice/contacts/bob.vcf", content=data, headers=headers)
    assert stored.status_code == 201, stored.text
    read_back = vobject.readOne(carddav.get("/alice/contacts/bob.vcf").text)
    assert read_back.fn.value == "Bob Builder"
    assert read_back.uid.value == vobject.readOne(data.decode()).uid.value

    listing = carddav.request("PROPFIND", "/alice/contacts/", headers={"Depth": "1"})
    assert listing.status_code == 207
    hrefs = [h.text for h in ElementTree.fromstring(listing.content).iter(f"{DAV}href")]
    assert "/alice/contacts/bob.vcf" in hrefs and "/alice/contacts/no-uid.vcf" not in hrefs
    report = carddav.request("REPORT", "/alice/contacts/", content=ADDRESSBOOK_QUERY, headers={"Depth": "1"})
    assert report.status_code == 207
    cards = [
        vobject.readOne(d.text) for d in ElementTree.fromstring(report.content).iter(f"{CARDDAV}address-data")
    ]
    assert [c.fn.value for c in cards] == ["Bob Builder"]


def test_vcard_uid_is_stable_across_edits_and_unique_per_card(client, card, other_card):
    def uid(c):
        return vobject.readOne(client.get(f"/c/{c.slug}/vcard").content.decode()).uid.value

    before = uid(card)
    assert before.startswith("urn:uuid:")
    services.card_update(card=card, changes={"first_name": "Robert", "job_title": "Architect"})
    assert uid(card) == before  # an address book updates the contact it already holds
    assert uid(other_card) != before
    # The vCard emailed to a visitor after an exchange is the same contact.
    lead_for(card)
    attachment = OutboxMessage.objects.get(kind="cards_exchange_visitor").attachments.get()
    assert vobject.readOne(sealing.open_bytes(bytes(attachment.content)).decode()).uid.value == before
