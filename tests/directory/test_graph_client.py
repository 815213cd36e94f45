"""The Graph client against the Microsoft fake over real HTTP: the allowlist, throttling, typed errors, the log."""

import pytest

from tessera.core.models import SecurityEvent
from tessera.directory.graph import (
    ForbiddenCall,
    GraphClient,
    GraphError,
    GraphThrottled,
    GraphUnauthorized,
    ResyncRequired,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class Sleeps(list):
    """An injected sleep: records the waits instead of waiting."""

    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def graph(fake_microsoft, sleeps):
    token = fake_microsoft.issue_access_token()
    client = GraphClient(token=lambda: token, sleep=sleeps, connection_id=7)
    yield client
    client.close()


@pytest.fixture
def alice(fake_microsoft):
    return fake_microsoft.add_user(givenName="Alice", surname="Martin", jobTitle="CFO")


@pytest.fixture
def team(fake_microsoft, alice):
    return fake_microsoft.add_group("Sales", members=[alice])


def forbidden_calls(fake, alice, team):
    other = fake.add_user(givenName="Bob")
    return [
        ("DELETE", f"/users/{alice}", None),
        ("POST", f"/users/{alice}/changePassword", {"currentPassword": "a", "newPassword": "b"}),
        ("POST", f"/users/{alice}/authentication/passwordMethods/28c10230/resetPassword", {}),
        ("GET", f"/users/{alice}/authentication/methods", None),
        ("DELETE", f"/users/{alice}/authentication/phoneMethods/3179e48a-750b-4051-897c-87b9720928f7", None),
        (
            "PATCH",
            f"/users/{alice}",
            {"passwordProfile": {"password": "x", "forceChangePasswordNextSignIn": True}},
        ),
        ("PATCH", f"/users/{alice}", {"accountEnabled": False}),
        ("PATCH", f"/users/{alice}", {"jobTitle": "CEO", "userPrincipalName": "boss@contoso.example"}),
        ("PATCH", f"/groups/{team}", {"mailNickname": "x"}),
        ("DELETE", f"/groups/{team}", None),
        ("POST", "/users", {"displayName": "New"}),
        ("GET", "/users", None),
        ("POST", f"/groups/{team}/owners/$ref", {"@odata.id": f"{fake.url}/v1.0/directoryObjects/{other}"}),
        ("POST", f"/groups/{team}/members/$ref", {"@odata.id": "x", "extra": 1}),
        ("GET", f"/users/{alice}/../../users/{alice}/authentication/methods", None),
        ("GET", f"/users/{alice}%2Fauthentication%2Fmethods", None),
        ("GET", "https://evil.example/v1.0/users/delta", None),
        ("GET", f"{fake.url}/beta/users/delta", None),
        ("GET", f"{fake.url.replace('127.0.0.1', 'localhost')}/v1.0/users/delta", None),
        ("DELETE", f"{fake.url}/v1.0/users/{alice}", None),
        ("GET", f"/users/{alice}?$expand=authentication", None),
        ("GET", f"{fake.url}/v1.0/users/delta?$skiptoken=a&$expand=memberOf", None),
    ]


def test_every_forbidden_call_raises_before_a_request_leaves(graph, fake_microsoft, alice, team):
    calls = forbidden_calls(fake_microsoft, alice, team)
    fake_microsoft.clear_log()
    for method, url, body in calls:
        with pytest.raises(ForbiddenCall):
            graph.request(method, url, json=body)
    assert fake_microsoft.calls() == []
    assert fake_microsoft.users[alice]["accountEnabled"] is True
    assert not SecurityEvent.objects.filter(action__startswith="directory.graph").exists()


def test_allowed_calls_reach_graph_and_writes_carry_only_their_attributes(graph, fake_microsoft, alice, team):
    bob = fake_microsoft.add_user(givenName="Bob")
    assert graph.organization()["displayName"] == "Contoso"
    assert graph.user_get(alice, select="id,jobTitle")["jobTitle"] == "CFO"
    graph.user_update(
        alice, {"jobTitle": "CEO", "businessPhones": ["+33 1 42 68 00 00"], "mobilePhone": None}
    )
    assert fake_microsoft.users[alice]["jobTitle"] == "CEO"
    created = graph.group_create(display_name="Marketing", mail_nickname="tessera-abc")
    assert fake_microsoft.groups[created["id"]]["displayName"] == "Marketing"
    graph.group_update(team, {"displayName": "Sales EMEA"})
    graph.member_add(team, bob)
    graph.member_remove(team, alice)
    assert set(fake_microsoft.members[team]) == {bob}
    patch = fake_microsoft.calls("PATCH", f"/users/{alice}")[0]
    assert set(patch.json) == {"jobTitle", "businessPhones", "mobilePhone"}


def test_each_write_is_in_the_security_log_with_actor_and_target_never_the_token(fake_microsoft, alice, team):
    admin = UserFactory()
    token = fake_microsoft.issue_access_token()
    with GraphClient(token=lambda: token, actor=admin, connection_id=3) as graph:
        graph.user_update(alice, {"department": "Finance"})
        graph.member_remove(team, alice)
        graph.get("/users/delta")
    events = list(SecurityEvent.objects.filter(action__startswith="directory.graph.").order_by("seq"))
    assert [e.action for e in events] == ["directory.graph.user_update", "directory.graph.member_remove"]
    assert all(e.actor_id == admin.pk for e in events)
    assert events[0].data == {"connection": 3, "target": alice, "status": 204}
    assert events[1].data["member"] == alice and events[1].data["target"] == team
    assert not any(token in str(e.data) for e in events)


def test_a_failed_write_is_logged_too_with_its_status(graph, fake_microsoft):
    missing = "00000000-0000-0000-0000-000000000001"
    with pytest.raises(GraphError) as raised:
        graph.user_update(missing, {"jobTitle": "x"})
    assert (raised.value.status, raised.value.code) == (404, "Request_ResourceNotFound")
    assert "does not exist" in raised.value.message
    assert SecurityEvent.objects.get(action="directory.graph.user_update").data["status"] == 404


def test_429_waits_for_retry_after_then_succeeds(graph, fake_microsoft, sleeps):
    fake_microsoft.fail_next(2, 429, retry_after=7)
    assert graph.organization()["displayName"] == "Contoso"
    assert sleeps == [7, 7]
    assert len(fake_microsoft.calls("GET", "/organization")) == 3


def test_503_without_retry_after_backs_off_exponentially_with_jitter_and_a_cap(graph, fake_microsoft, sleeps):
    fake_microsoft.fail_next(5, 503, retry_after=None)
    graph.organization()
    assert len(sleeps) == 5
    for attempt, wait in enumerate(sleeps, start=1):
        ceiling = min(2 ** (attempt - 1), 60)
        assert ceiling * 0.5 <= wait <= ceiling
    assert sleeps[-1] > sleeps[0]


def test_throttling_gives_up_after_the_maximum_attempts_with_a_typed_error(fake_microsoft, sleeps):
    token = fake_microsoft.issue_access_token()
    fake_microsoft.fail_next(10, 429, retry_after=1)
    with GraphClient(token=lambda: token, sleep=sleeps, max_attempts=4) as graph:
        with pytest.raises(GraphThrottled) as raised:
            graph.organization()
    assert raised.value.status == 429
    assert len(fake_microsoft.calls("GET", "/organization")) == 4


def test_a_high_throttle_percentage_slows_the_next_requests(graph, fake_microsoft, sleeps):
    fake_microsoft.throttle_percentage = 0.5
    graph.organization()
    graph.organization()
    assert sleeps == []
    fake_microsoft.throttle_percentage = 0.9
    graph.organization()
    graph.organization()
    assert len(sleeps) == 1 and sleeps[0] > 0
    fake_microsoft.throttle_percentage = 1.5
    graph.organization()
    graph.organization()
    assert sleeps[-1] > sleeps[0]
    fake_microsoft.throttle_percentage = None
    graph.organization()
    count = len(sleeps)
    graph.organization()
    assert len(sleeps) == count  # the pressure is gone: full speed again


def test_401_is_a_typed_error(fake_microsoft, sleeps):
    with GraphClient(token=lambda: "not-a-token", sleep=sleeps) as graph:
        with pytest.raises(GraphUnauthorized) as raised:
            graph.organization()
    assert raised.value.code == "InvalidAuthenticationToken"


def test_an_invalidated_delta_link_is_a_resync_error(graph, fake_microsoft, alice):
    page = graph.get("/users/delta?$select=displayName")
    link = page["@odata.deltaLink"]
    fake_microsoft.invalidate_delta_tokens()
    with pytest.raises(ResyncRequired) as raised:
        graph.get(link)
    assert (raised.value.status, raised.value.code) == (410, "syncStateNotFound")
    fake_microsoft.invalidate_delta_tokens(status=400)
    with pytest.raises(ResyncRequired):
        graph.get(link)


def test_next_links_on_graph_itself_are_followed(graph, fake_microsoft):
    fake_microsoft.add_users(5)
    fake_microsoft.page_size = 2
    page = graph.get("/users/delta?$select=displayName")
    seen = len(page["value"])
    while "@odata.nextLink" in page:
        page = graph.get(page["@odata.nextLink"])
        seen += len(page["value"])
    assert seen == 5 and "@odata.deltaLink" in page
