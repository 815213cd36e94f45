"""The rights of a person a directory described: the access export and the erasure cover its identifiers."""

import io
import json
import zipfile
from urllib.parse import urlsplit

import pytest

from tessera.accounts.services import welcome_link_use
from tessera.directory.models import ExternalUser, Provider
from tessera.directory.services.people import Person, group_apply, person_apply
from tessera.privacy import services
from tessera.privacy.exports import export_build, export_zip
from tessera.privacy.services.requests import erasure_apply
from tests.accounts.support import PASSWORD, emails_to, link_from
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def sections(email: str) -> dict:
    archive = zipfile.ZipFile(io.BytesIO(export_zip(export_build(services.subject_resolve(email)))))
    return {s["category"]: s for s in json.loads(archive.read("data.json"))["sections"]}


def test_the_export_lists_the_directory_ids_and_the_erasure_removes_them():
    org = OrganisationFactory(owner=UserFactory(email="owner@alpha.example"), name="Alpha")
    ada = Person(
        external_id="obj-ada",
        user_name="ada@alpha.example",
        email="ada@alpha.example",
        values={"first_name": "Ada", "last_name": "Lovelace"},
    )
    external = person_apply(organisation=org, provider=Provider.MICROSOFT, person=ada).external_user
    group_apply(
        organisation=org, provider=Provider.MICROSOFT, external_id="g", display_name="R&D", members=[external]
    )
    # The welcome link proves the address: only then is it the person's own to ask about.
    (mail,) = emails_to("ada@alpha.example", kind="accounts_welcome")
    token = urlsplit(link_from(mail.body_text, "/welcome/")).path.rstrip("/").rsplit("/", 1)[-1]
    welcome_link_use(token=token, password=PASSWORD)

    rows = sections("ada@alpha.example")["directory_identities"]["rows"]
    assert rows == [
        {
            "organisation": "Alpha",
            "directory": "Microsoft Entra ID",
            "external_id": "obj-ada",
            "scim_id": str(external.scim_id),
            "user_name": "ada@alpha.example",
            "active": True,
            "groups": ["R&D"],
            "removed": "",
        }
    ]

    result = erasure_apply(services.subject_resolve("ada@alpha.example"))
    assert {"activity": "directory.sync", "erased": 1} in [
        {k: o[k] for k in ("activity", "erased")} for o in result["outcomes"]
    ]
    assert not ExternalUser.objects.filter(user_name="ada@alpha.example").exists()
