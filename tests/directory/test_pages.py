"""The integration page, driven the way an organisation's administrator drives it: through its URLs.

Google and Microsoft are the local fakes over real HTTP; the browser's trips to their consent pages are
made with httpx, the way a browser would follow them. Syncs run on the task queue (immediate in tests)
once the request's transaction commits.
"""

import re
import ssl
from urllib.parse import urlsplit

import httpx
import pytest
from django.urls import reverse
from django.utils import translation

from tessera.accounts.models import Membership
from tessera.cards.services import template_save
from tessera.core.models import SecurityEvent
from tessera.directory.models import (
    Connection,
    ExternalGroup,
    ExternalUser,
    Provider,
    ScimToken,
    SyncRun,
    WriteBack,
)
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(email="olga@alpha.example", full_name="Olga Owner")


@pytest.fixture
def org(admin):
    return OrganisationFactory(owner=admin, name="Alpha")


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def url(name: str, org, *args, lang: str = "en") -> str:
    """A directory URL in `lang`: French has no prefix, English lives under /en/."""
    with translation.override(lang):
        return reverse(f"directory:{name}", args=[org.slug, *args])


def page_url(org, lang: str = "en") -> str:
    return url("integration", org, lang=lang)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _through_consent(client, response, verify):
    """Follow the browser's trip: our redirect to the provider, the provider's redirect back to us."""
    assert response.status_code == 302, response.status_code
    consent = httpx.get(response["Location"], verify=verify, follow_redirects=False)
    assert consent.status_code in (302, 303), consent.text
    back = urlsplit(consent.headers["location"])
    return client.get(f"{back.path}?{back.query}")


def connect_microsoft(client, org, fake):
    response = client.post(url("microsoft_connect", org))
    return _through_consent(client, response, ssl.create_default_context(cafile=fake.ca_file))


def connect_google(client, org, fake):
    response = client.post(url("google_connect", org))
    return _through_consent(client, response, True)


def entra_people(fake):
    """A small tenant: four people, one with a phone number no card accepts, one with a 10,000-character
    title, and two groups."""
    alice = fake.add_user(givenName="Alice", surname="Martin", jobTitle="CFO", department="Finance")
    bruno = fake.add_user(givenName="Bruno", surname="Petit", jobTitle="Engineer", department="R&D")
    chloe = fake.add_user(givenName="Chloé", surname="Durand", mobilePhone="call me maybe")
    fake.add_user(givenName="Igor", surname="Blanc", jobTitle="x" * 10_000)  # refused whole
    fake.add_group("Finance", members=[alice])
    fake.add_group("Engineering", members=[bruno, chloe])
    return alice, bruno, chloe


@pytest.fixture
def entra(signed_in, org, fake_microsoft, django_capture_on_commit_callbacks):
    """Alpha connected to the fake tenant, through the consent flow."""
    entra_people(fake_microsoft)
    response = connect_microsoft(signed_in, org, fake_microsoft)
    assert response.status_code == 302
    return Connection.objects.get(organisation=org, provider=Provider.MICROSOFT, disconnected_at=None)


def run_dry(client, org, capture) -> SyncRun:
    with capture(execute=True):
        response = client.post(url("dry_run_start", org))
    assert response.status_code == 302
    run = SyncRun.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert run.kind == SyncRun.Kind.DRY_RUN
    return run


# --- who may see the page ------------------------------------------------------------------------------


def test_the_page_shows_the_three_directories_in_both_languages(signed_in, org):
    english = text_of(signed_in.get(page_url(org)))
    assert "Google Workspace" in english and "Microsoft Entra ID" in english
    assert "SCIM provisioning" in english and "http://testserver/scim/v2/" in english
    assert "Connect Google Workspace" in english and "Connect with admin consent" in english
    french = signed_in.get(page_url(org, "fr"))
    assert french.status_code == 200
    assert '<html lang="fr">' in french.content.decode()


def test_the_google_card_says_members_are_not_read_from_google(signed_in, org):
    html = signed_in.get(page_url(org)).content.decode()
    note = html[html.index('data-testid="google-members-note"') :]
    note = note[: note.index("</div>")]
    assert "Members are not read from Google" in note
    assert "invitations, CSV import or SCIM" in note
    assert reverse("cards:org_invite", args=[org.slug]) in note
    assert reverse("cards:org_import", args=[org.slug]) in note
    assert 'href="#scim"' in note


def test_a_plain_member_gets_no_page(client, org):
    member = UserFactory()
    MembershipFactory(organisation=org, user=member)
    client.force_login(member)
    assert client.get(page_url(org)).status_code == 404


def test_the_organisation_pages_link_to_the_directory(signed_in, org):
    html = signed_in.get(f"/en/cards/org/{org.slug}/integrations/").content.decode()
    assert page_url(org) in html


# --- Google Workspace ----------------------------------------------------------------------------------


def test_google_connects_and_the_card_shows_the_workspace(signed_in, org, fake_google):
    response = connect_google(signed_in, org, fake_google)
    assert response.status_code == 302 and response["Location"] == page_url(org) + "#google"
    page = signed_in.get(response["Location"])
    text = text_of(page)
    assert "Google Workspace Example Org is connected." in text
    facts = text[text.index('data-testid="google-facts"') :]
    assert "Example Org" in facts and "example.org" in facts and "ada@example.org" in facts
    checked = Connection.objects.get(organisation=org, provider=Provider.GOOGLE).admin_checked_at
    assert checked is not None
    assert "never" not in facts[: facts.index("</dl>")]


def test_a_google_account_that_is_not_a_workspace_admin_is_refused(signed_in, org, fake_google):
    fake_google.add_account("eve@example.org", "Eve")
    fake_google.sign_in_as("eve@example.org")
    response = connect_google(signed_in, org, fake_google)
    page = text_of(signed_in.get(response["Location"]))
    assert "is not a Google Workspace administrator" in page
    assert not Connection.objects.filter(organisation=org).exists()


def test_google_disconnects_and_its_token_is_revoked(signed_in, org, fake_google):
    connect_google(signed_in, org, fake_google)
    response = signed_in.post(url("google_disconnect", org))
    assert response.status_code == 302
    connection = Connection.objects.get(organisation=org, provider=Provider.GOOGLE)
    assert connection.disconnected_at is not None and connection.refresh_token == ""
    assert fake_google.revocations
    assert "Connect Google Workspace" in text_of(signed_in.get(page_url(org)))


def test_a_callback_this_browser_never_started_changes_nothing(signed_in, org):
    response = signed_in.get("/directory/microsoft/callback/?code=stolen&state=forged")
    assert response.status_code == 302
    assert not Connection.objects.exists()


# --- Microsoft Entra ID: settings, dry run, confirmation, sync -----------------------------------------


def test_microsoft_connects_and_the_card_shows_the_tenant(signed_in, org, entra):
    text = text_of(signed_in.get(page_url(org)))
    facts = text[text.index('data-testid="microsoft-facts"') :]
    assert "Contoso" in facts and "contoso.example" in facts
    assert 'data-testid="confirm-first"' in text  # nothing is applied before a dry run is confirmed
    assert "Sync now</button>" not in text


def test_the_dry_run_lists_people_and_applies_nothing_until_confirmed(
    signed_in, org, entra, django_capture_on_commit_callbacks
):
    members_before = Membership.objects.filter(organisation=org).count()
    run = run_dry(signed_in, org, django_capture_on_commit_callbacks)
    page = text_of(signed_in.get(url("dry_run", org, run.pk)))
    created = page[page.index('data-testid="plan-create"') :]
    created = created[: created.index("</section>")]
    assert "Alice Martin" in created and "Bruno Petit" in created and "Igor" not in created
    refused = page[page.index('data-testid="problems"') :]
    assert "Igor Blanc" in refused and "longer than" in refused
    assert Membership.objects.filter(organisation=org).count() == members_before
    assert "Confirm and sync" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(url("dry_run_confirm", org, run.pk))
    assert response.status_code == 302
    page = text_of(signed_in.get(page_url(org)))
    counts = page[page.index('data-testid="last-counts"') :]
    assert re.search(r"<strong>[23]</strong> <span>created</span>", counts), counts[:600]
    problems = page[page.index('data-testid="problems"') :]
    assert "Chloé Durand" in problems or "chloe" in problems.lower()
    assert Membership.objects.filter(organisation=org).count() > members_before
    assert "Sync now</button>" in page


def test_sync_now_is_refused_before_a_confirmed_dry_run(signed_in, org, entra):
    response = signed_in.post(url("sync_now", org), follow=True)
    assert "Run a dry run and confirm it first" in text_of(response)
    assert not SyncRun.objects.exclude(kind=SyncRun.Kind.DRY_RUN).exists()


def test_the_status_endpoint_follows_a_run(signed_in, org, entra, django_capture_on_commit_callbacks):
    run = run_dry(signed_in, org, django_capture_on_commit_callbacks)
    status = signed_in.get(url("run_status", org, run.pk)).json()
    assert status["status"] == "planned" and status["active"] is False and status["percent"] == 100
    assert status["seen"] >= 3


def _settings(**changes) -> dict:
    data = {
        "scope": "tenant",
        "scope_domains": "",
        "map_first_name": "givenName",
        "map_last_name": "surname",
        "map_job_title": "jobTitle",
        "map_mobile_phone": "mobilePhone",
        "sync_enabled": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_settings_are_saved(signed_in, org, entra):
    response = signed_in.post(
        url("settings_save", org), _settings(scope="domain", scope_domains="Contoso.example")
    )
    assert response.status_code == 302
    entra.refresh_from_db()
    assert entra.scope == "domain" and entra.scope_domains == ["contoso.example"]
    assert entra.attribute_map == {
        "first_name": "givenName",
        "last_name": "surname",
        "job_title": "jobTitle",
        "mobile_phone": "mobilePhone",
    }
    assert entra.sync_enabled is True
    assert SecurityEvent.objects.filter(action="directory.settings_updated").exists()


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"scope": "domain", "scope_domains": "not a domain!"}, "Not a domain name"),
        ({"scope": "domain", "scope_domains": ""}, "Give at least one domain"),
        ({"scope": "groups"}, "Choose at least one group"),
        ({"scope": "everyone"}, "Select a valid choice"),
        ({"map_first_name": "mobilePhone"}, "Select a valid choice"),
        ({"map_job_title": "passwordProfile"}, "Select a valid choice"),
        (
            {"map_first_name": "", "map_last_name": "", "map_job_title": "", "map_mobile_phone": ""},
            "Choose at least one attribute",
        ),
        ({"scope_domains": "x" * 3000, "scope": "domain"}, "at most 2000 characters"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(signed_in, org, entra, changes, error):
    before = Connection.objects.filter(pk=entra.pk).values().get()
    response = signed_in.post(url("settings_save", org), _settings(**changes))
    assert response.status_code == 400
    assert error in text_of(response)
    assert Connection.objects.filter(pk=entra.pk).values().get() == before


def test_a_new_scope_after_confirmation_asks_for_a_new_dry_run(
    signed_in, org, entra, django_capture_on_commit_callbacks
):
    run = run_dry(signed_in, org, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(url("dry_run_confirm", org, run.pk))
    entra.refresh_from_db()
    assert entra.confirmed_at is not None
    response = signed_in.post(
        url("settings_save", org), _settings(scope="domain", scope_domains="contoso.example")
    )
    assert response.status_code == 302
    entra.refresh_from_db()
    assert entra.confirmed_at is None
    page = text_of(signed_in.get(page_url(org)))
    assert "run a dry run and confirm it" in page and 'data-testid="confirm-first"' in page


def test_groups_give_templates_and_roles_never_the_owner(
    signed_in, org, entra, django_capture_on_commit_callbacks
):
    run = run_dry(signed_in, org, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(url("dry_run_confirm", org, run.pk))
    finance = ExternalGroup.objects.get(organisation=org, display_name="Finance")
    template = template_save(organisation=org, name="Finance brand")
    page = signed_in.get(page_url(org)).content.decode()
    role_select = page[page.index(f'name="role_{finance.pk}"') :]
    role_select = role_select[: role_select.index("</select>")]
    assert 'value="admin"' in role_select and 'value="owner"' not in role_select

    refused = signed_in.post(url("groups_save", org), {f"role_{finance.pk}": "owner"})
    assert refused.status_code == 400
    finance.refresh_from_db()
    assert finance.role == ""

    response = signed_in.post(
        url("groups_save", org),
        {f"role_{finance.pk}": "admin", f"template_{finance.pk}": str(template.public_id)},
    )
    assert response.status_code == 302
    finance.refresh_from_db()
    assert finance.role == "admin" and str(finance.template) == str(template.public_id)
    alice = Membership.objects.get(organisation=org, user__email__startswith="alice")
    assert alice.role == Membership.Role.ADMIN
    owner = Membership.objects.get(organisation=org, role=Membership.Role.OWNER)
    assert owner.user.email == "olga@alpha.example"


def test_microsoft_disconnects_and_members_stay(signed_in, org, entra, django_capture_on_commit_callbacks):
    run = run_dry(signed_in, org, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(url("dry_run_confirm", org, run.pk))
    members = Membership.objects.filter(organisation=org).count()
    response = signed_in.post(url("microsoft_disconnect", org))
    assert response.status_code == 302
    entra.refresh_from_db()
    assert entra.disconnected_at is not None and entra.refresh_token == ""
    assert Membership.objects.filter(organisation=org).count() == members
    assert "Connect with admin consent" in text_of(signed_in.get(page_url(org)))


# --- SCIM ----------------------------------------------------------------------------------------------


def test_the_scim_token_is_shown_once_and_can_be_revoked(signed_in, org):
    response = signed_in.post(url("scim_token_rotate", org))
    assert response.status_code == 200
    token = re.search(r'id="new-scim-token" class="secret">([^<]+)<', response.content.decode()).group(1)
    stored = ScimToken.objects.get(organisation=org)
    assert stored.token_hash == ScimToken.digest(token)
    again = signed_in.get(page_url(org)).content.decode()
    assert token not in again and f"tscim_{stored.prefix}_…" in again
    assert httpx_free_scim_call(signed_in, token).status_code == 200

    response = signed_in.post(url("scim_token_revoke", org))
    assert response.status_code == 302
    assert not ScimToken.objects.filter(organisation=org).exists()
    assert httpx_free_scim_call(signed_in, token).status_code == 401


def httpx_free_scim_call(client, token):
    return client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_writes_are_post_only(signed_in, org):
    for name in ("google_connect", "microsoft_connect", "scim_token_rotate", "scim_token_revoke", "sync_now"):
        assert signed_in.get(url(name, org)).status_code == 405, name


def test_a_queued_run_shows_a_bar_that_works_without_script(signed_in, org, entra):
    # The task waits for the commit, which this test never makes: the run stays queued.
    response = signed_in.post(url("dry_run_start", org))
    run = SyncRun.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
    assert run.status == SyncRun.Status.QUEUED
    page = signed_in.get(response["Location"]).content.decode()
    bar = page[page.index('class="run-progress"') :]
    bar = bar[: bar.index("</div>")]
    assert 'data-active="true"' in bar and "<progress" in bar and 'value="' not in bar  # total unknown yet
    assert f'href="{url("dry_run", org, run.pk)}">Refresh</a>' in bar
    assert url("run_status", org, run.pk) in bar
    status = signed_in.get(url("run_status", org, run.pk)).json()
    assert status["active"] is True and status["percent"] is None and status["status"] == "queued"


def test_a_template_of_another_organisation_is_refused(
    signed_in, org, entra, django_capture_on_commit_callbacks
):
    run = run_dry(signed_in, org, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(url("dry_run_confirm", org, run.pk))
    finance = ExternalGroup.objects.get(organisation=org, display_name="Finance")
    elsewhere = template_save(organisation=OrganisationFactory(owner=UserFactory()), name="Beta brand")
    response = signed_in.post(url("groups_save", org), {f"template_{finance.pk}": str(elsewhere.public_id)})
    assert response.status_code == 400
    finance.refresh_from_db()
    assert finance.template is None


@pytest.fixture
def synced(signed_in, org, entra, django_capture_on_commit_callbacks):
    run = run_dry(signed_in, org, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(url("dry_run_confirm", org, run.pk))
    return entra


def test_groups_are_created_renamed_and_filled_in_entra(
    signed_in, org, synced, fake_microsoft, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(url("group_create", org), {"display_name": "Marketing", "role": "member"})
    assert response.status_code == 302
    assert "Marketing" in [g["displayName"] for g in fake_microsoft.groups.values()]

    engineering = ExternalGroup.objects.get(organisation=org, display_name="Engineering")
    page = text_of(signed_in.get(url("group", org, engineering.pk)))
    members = page[page.index('data-testid="group-members"') :]
    members = members[: members.index("</table>")]
    assert "Bruno" in members and "Alice" not in members
    alice = ExternalUser.objects.get(organisation=org, user_name__startswith="alice")
    bruno = ExternalUser.objects.get(organisation=org, user_name__startswith="bruno")
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(url("group_rename", org, engineering.pk), {"display_name": "R&D"})
        signed_in.post(url("group_member_add", org, engineering.pk), {"member": alice.pk})
        signed_in.post(url("group_member_remove", org, engineering.pk, bruno.pk))
    in_entra = fake_microsoft.groups[engineering.external_id]
    assert in_entra["displayName"] == "R&D"
    assert alice.external_id in fake_microsoft.members[engineering.external_id]
    assert bruno.external_id not in fake_microsoft.members[engineering.external_id]
    page = text_of(signed_in.get(page_url(org)))
    sent = page[page.index('data-testid="writebacks"') :]
    assert sent.count("badge-success") == 4


def test_bad_group_changes_are_refused_and_nothing_is_sent(signed_in, org, synced, fake_microsoft):
    engineering = ExternalGroup.objects.get(organisation=org, display_name="Engineering")
    bruno = ExternalUser.objects.get(organisation=org, user_name__startswith="bruno")
    outsider = ExternalGroup.objects.get(organisation=org, display_name="Finance")
    attempts = [
        (url("group_create", org), {"display_name": ""}),
        (url("group_create", org), {"display_name": "x" * 300}),
        (url("group_create", org), {"display_name": "Owners", "role": "owner"}),
        (url("group_rename", org, engineering.pk), {"display_name": ""}),
        (url("group_member_add", org, engineering.pk), {"member": bruno.pk}),  # already in it
        (url("group_member_add", org, engineering.pk), {"member": "999999"}),
    ]
    for target, data in attempts:
        assert signed_in.post(target, data).status_code == 400, (target, data)
    assert signed_in.post(url("group_member_remove", org, outsider.pk, bruno.pk)).status_code == 404
    assert not WriteBack.objects.exists()


def test_a_revocation_google_did_not_confirm_is_said(signed_in, org, fake_google):
    connect_google(signed_in, org, fake_google)
    fake_google.stop()  # Google unreachable: the tokens are deleted here all the same
    page = text_of(signed_in.post(url("google_disconnect", org), follow=True))
    assert "Google did not confirm that it withdrew the access" in page
    connection = Connection.objects.get(organisation=org, provider=Provider.GOOGLE)
    assert connection.disconnected_at is not None and connection.refresh_token == ""
