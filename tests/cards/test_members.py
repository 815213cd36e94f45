"""Members and roles: one owner, owner-only admin rights, removal, leaving, transfer; all in the security log."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from tessera.accounts import services as accounts_services
from tessera.accounts.models import Membership
from tessera.cards import services
from tessera.cards.models import Card, CardInvitation, Lead
from tessera.core.models import SecurityEvent

from .conftest import brand_template, lead_for

PASSWORD = "a-long-test-password"


def _join(org, inviter, email, role="member", name="") -> Membership:
    invitation = services.invitation_create(organisation=org, email=email, invited_by=inviter, role=role)
    user, _card = services.invitation_accept(invitation=invitation, password=PASSWORD, full_name=name)
    return Membership.objects.get(organisation=org, user=user)


@pytest.fixture
def owner_seat(org, admin_user):
    return Membership.objects.get(organisation=org, user=admin_user)


@pytest.fixture
def admin_seat(org, admin_user):
    return _join(org, admin_user, "ada@alpha.example", role="admin", name="Ada Admin")


@pytest.fixture
def member_seat(org, member):
    return Membership.objects.get(organisation=org, user=member)


def _events(action):
    return list(SecurityEvent.objects.filter(action=action).order_by("seq"))


def _role(seat):
    return Membership.objects.get(pk=seat.pk).role


def test_members_page_lists_roles_and_last_activity(
    client, org, admin_user, owner_seat, admin_seat, member_seat
):
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        client.force_login(member_seat.user)  # a sign-in sets last_login
    client.force_login(admin_user)
    response = client.get(f"/cards/org/{org.slug}/members/")
    assert response.status_code == 200
    html = response.content.decode()
    for email in ("admin@alpha.example", "ada@alpha.example", "bob@alpha.example"):
        assert f'data-member="{email}"' in html
    row = html.split('data-member="bob@alpha.example"', 1)[1].split("</tr>", 1)[0]
    assert "member" in row and "never" not in row  # his last sign-in is shown
    assert "Transfer the ownership" in html
    assert "style=" not in html.split("<main", 1)[1]


def test_only_owner_and_admins_open_the_members_page(client, org, admin_seat, member_seat, other_admin):
    for user, status in ((admin_seat.user, 200), (member_seat.user, 404), (other_admin, 404)):
        client.force_login(user)
        assert client.get(f"/cards/org/{org.slug}/members/").status_code == status
    client.force_login(admin_seat.user)
    assert "Transfer the ownership" not in client.get(f"/cards/org/{org.slug}/members/").content.decode()


def test_the_owner_makes_and_demotes_admins_and_each_change_is_logged(client, org, admin_user, member_seat):
    client.force_login(admin_user)
    url = f"/cards/org/{org.slug}/members/{member_seat.pk}/role/"
    assert client.post(url, {"role": "admin"}).status_code == 302
    assert _role(member_seat) == "admin"
    assert client.post(url, {"role": "member"}).status_code == 302
    assert _role(member_seat) == "member"
    logged = _events("cards.membership.role_changed")
    assert [(e.actor_id, e.data["member"], e.data["previous"], e.data["role"]) for e in logged] == [
        (admin_user.pk, member_seat.user_id, "member", "admin"),
        (admin_user.pk, member_seat.user_id, "admin", "member"),
    ]
    assert logged[0].data["organisation"] == org.pk
    assert client.post(url, {"role": "owner"}).status_code == 302  # not a choice: refused
    assert _role(member_seat) == "member"


def test_an_admin_cannot_change_roles_nor_the_owners_role(client, org, admin_seat, member_seat, owner_seat):
    client.force_login(admin_seat.user)
    client.post(f"/cards/org/{org.slug}/members/{member_seat.pk}/role/", {"role": "admin"})
    client.post(f"/cards/org/{org.slug}/members/{admin_seat.pk}/role/", {"role": "member"})
    client.post(f"/cards/org/{org.slug}/members/{owner_seat.pk}/role/", {"role": "member"})
    assert (_role(member_seat), _role(admin_seat), _role(owner_seat)) == ("member", "admin", "owner")
    with pytest.raises(Exception, match="Only the owner"):
        accounts_services.membership_role_set(membership=member_seat, role="admin", actor=admin_seat.user)
    with pytest.raises(Exception, match="transferring the ownership"):
        accounts_services.membership_role_set(membership=owner_seat, role="admin", actor=owner_seat.user)
    assert _events("cards.membership.role_changed") == []


def test_an_admin_removes_a_plain_member_whose_card_is_deactivated(
    client, org, admin_seat, member_seat, card
):
    lead = lead_for(card)
    client.force_login(admin_seat.user)
    response = client.post(f"/cards/org/{org.slug}/members/{member_seat.pk}/remove/")
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=member_seat.pk).exists()
    card.refresh_from_db()
    assert not card.is_active and card.organisation == org
    assert client.get(f"/c/{card.slug}").status_code == 404
    # The person no longer reaches the organisation's card or its leads.
    client.force_login(member_seat.user)
    assert client.get(f"/cards/card/{card.slug}/").status_code == 404
    assert client.post(f"/cards/card/{card.slug}/active/", {"active": "1"}).status_code == 404
    assert client.get(f"/cards/leads/{lead.pk}/").status_code == 404
    assert "Vera" not in client.get("/cards/leads/").content.decode()
    card.refresh_from_db()
    assert not card.is_active
    [event] = _events("cards.membership.removed")
    assert (event.actor_id, event.data["member"], event.data["card"]) == (
        admin_seat.user_id,
        member_seat.user_id,
        "deactivated",
    )


def test_an_admin_cannot_remove_another_admin_nor_the_owner(client, org, admin_user, admin_seat, owner_seat):
    second = _join(org, admin_user, "abe@alpha.example", role="admin", name="Abe")
    client.force_login(admin_seat.user)
    for seat in (second, owner_seat):
        client.post(f"/cards/org/{org.slug}/members/{seat.pk}/remove/")
    assert Membership.objects.filter(pk__in=[second.pk, owner_seat.pk]).count() == 2
    with pytest.raises(Exception, match="Only the owner can remove an administrator"):
        accounts_services.membership_remove(membership=second, actor=admin_seat.user)
    # The owner may.
    client.force_login(admin_user)
    client.post(f"/cards/org/{org.slug}/members/{second.pk}/remove/")
    assert not Membership.objects.filter(pk=second.pk).exists()
    assert _events("cards.membership.removed")[0].data["role"] == "admin"


def test_a_plain_member_removes_nobody_but_may_leave(client, org, admin_user, member_seat, admin_seat):
    other = _join(org, admin_user, "cy@alpha.example", name="Cy")
    with pytest.raises(Exception, match="Only the owner and the administrators"):
        accounts_services.membership_remove(membership=other, actor=member_seat.user)
    client.force_login(member_seat.user)
    assert client.post(f"/cards/org/{org.slug}/members/{other.pk}/remove/").status_code == 404  # not admin
    assert Membership.objects.filter(pk=other.pk).exists()
    card = Card.objects.get(owner=member_seat.user, organisation=org)
    page = client.get(f"/cards/card/{card.slug}/").content.decode()
    assert "Leave the organisation" in page
    assert client.post(f"/cards/org/{org.slug}/leave/").status_code == 302
    assert not Membership.objects.filter(pk=member_seat.pk).exists()
    [event] = _events("cards.membership.left")
    assert event.actor_id == member_seat.user_id and event.data["card"] == "deactivated"
    # An admin may leave too.
    client.force_login(admin_seat.user)
    assert client.post(f"/cards/org/{org.slug}/members/{admin_seat.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=admin_seat.pk).exists()


def test_the_owner_cannot_leave_or_be_removed_so_there_is_always_an_owner(
    client, org, admin_user, owner_seat
):
    client.force_login(admin_user)
    client.post(f"/cards/org/{org.slug}/leave/")
    client.post(f"/cards/org/{org.slug}/members/{owner_seat.pk}/remove/")
    assert _role(owner_seat) == "owner"
    with pytest.raises(Exception, match="transfer the ownership first"):
        accounts_services.membership_remove(membership=owner_seat, actor=admin_user)
    page = client.get(f"/cards/org/{org.slug}/members/").content.decode()
    assert (
        "Leave the organisation" not in page
    )  # the owner is the last administrator: no way out but a transfer


def test_an_organisation_can_hand_the_card_back_to_a_member_who_leaves(
    client, org, admin_user, member_seat, card
):
    brand_template(
        org,
        "HQ",
        is_default=True,
        locked_values={"company": "Alpha SAS", "city": "Paris"},
    )
    lead = lead_for(card)
    client.force_login(admin_user)
    client.post(
        f"/cards/org/{org.slug}/settings/",
        {"admins_see_leads": "on", "inactive_action": "delete", "hand_back_cards": "on"},
    )
    assert client.get(f"/cards/leads/{lead.pk}/").status_code == 200
    client.post(f"/cards/org/{org.slug}/members/{member_seat.pk}/remove/")
    card.refresh_from_db()
    assert card.is_active and card.organisation is None and card.template is None
    assert (card.company, card.city) == ("Alpha SAS", "Paris")  # what the card showed stays its own values
    lead.refresh_from_db()
    assert lead.organisation is None
    assert client.get(f"/cards/leads/{lead.pk}/").status_code == 404  # the organisation no longer sees it
    client.force_login(member_seat.user)
    assert client.get(f"/cards/card/{card.slug}/edit/").status_code == 200
    assert client.get(f"/cards/leads/{lead.pk}/").status_code == 200
    assert "Alpha SAS" in client.get(f"/c/{card.slug}").content.decode()
    assert _events("cards.membership.removed")[0].data["card"] == "handed_back"


def test_the_owner_transfers_the_ownership_and_becomes_an_admin(
    client, org, admin_user, owner_seat, member_seat
):
    client.force_login(admin_user)
    bad = client.post(f"/cards/org/{org.slug}/transfer/", {"new_owner": member_seat.pk})  # not confirmed
    assert bad.status_code == 400 and "Tick the box" in bad.content.decode() and _role(owner_seat) == "owner"
    response = client.post(f"/cards/org/{org.slug}/transfer/", {"new_owner": member_seat.pk, "confirm": "on"})
    assert response.status_code == 302
    assert (_role(owner_seat), _role(member_seat)) == ("admin", "owner")
    assert Membership.objects.filter(organisation=org, role="owner").count() == 1
    [event] = _events("cards.organisation.ownership_transferred")
    assert (event.actor_id, event.data["member"], event.data["previous_role"]) == (
        admin_user.pk,
        member_seat.user_id,
        "member",
    )
    # The former owner has lost the owner's rights; the new owner has them.
    client.post(f"/cards/org/{org.slug}/transfer/", {"new_owner": owner_seat.pk, "confirm": "on"})
    assert _role(member_seat) == "owner"
    with pytest.raises(Exception, match="Only the owner can transfer"):
        accounts_services.organisation_ownership_transfer(
            organisation=org, new_owner=owner_seat, actor=admin_user
        )
    accounts_services.membership_role_set(membership=owner_seat, role="member", actor=member_seat.user)
    assert _role(owner_seat) == "member"


def test_the_ownership_goes_only_to_an_active_member_of_the_same_organisation(
    org, admin_user, owner_seat, member_seat, other_org, other_admin
):
    stranger = Membership.objects.get(organisation=other_org, user=other_admin)
    with pytest.raises(Exception, match="must be a member"):
        accounts_services.organisation_ownership_transfer(
            organisation=org, new_owner=stranger, actor=admin_user
        )
    with pytest.raises(Exception, match="already the owner"):
        accounts_services.organisation_ownership_transfer(
            organisation=org, new_owner=owner_seat, actor=admin_user
        )
    member_seat.user.is_active = False
    member_seat.user.save()
    with pytest.raises(Exception, match="closed"):
        accounts_services.organisation_ownership_transfer(
            organisation=org, new_owner=member_seat, actor=admin_user
        )
    assert _role(owner_seat) == "owner" and _events("cards.organisation.ownership_transferred") == []


def test_the_database_refuses_a_second_owner(org, member_seat):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=member_seat.pk).update(role="owner")


def test_only_the_owner_invites_administrators(client, org, admin_user, admin_seat):
    client.force_login(admin_seat.user)
    response = client.post(f"/cards/org/{org.slug}/invite/", {"email": "x@alpha.example", "role": "admin"})
    assert (
        response.status_code == 400
        and "Only the owner can invite administrators" in response.content.decode()
    )
    csv_text = "email,role\ny@alpha.example,admin\nz@alpha.example,member\n"
    upload = io.BytesIO(csv_text.encode())
    upload.name = "people.csv"
    preview = client.post(f"/cards/org/{org.slug}/import/", {"file": upload}).content.decode()
    assert "Only the owner can invite administrators" in preview
    client.post(f"/cards/org/{org.slug}/import/confirm/", {"csv_text": csv_text})
    assert not CardInvitation.objects.filter(email__in=["x@alpha.example", "y@alpha.example"]).exists()
    assert (
        client.post(
            f"/cards/org/{org.slug}/invite/", {"email": "m@alpha.example", "role": "member"}
        ).status_code
        == 302
    )
    client.force_login(admin_user)
    assert (
        client.post(
            f"/cards/org/{org.slug}/invite/", {"email": "x@alpha.example", "role": "admin"}
        ).status_code
        == 302
    )
    assert CardInvitation.objects.get(email="x@alpha.example").role == "admin"


def test_members_of_another_organisation_are_out_of_reach(
    client, org, other_org, other_admin, member_seat, owner_seat
):
    own_seat = Membership.objects.get(organisation=other_org, user=other_admin)
    client.force_login(other_admin)
    for url, data in (
        (f"/cards/org/{org.slug}/members/{member_seat.pk}/role/", {"role": "admin"}),
        (f"/cards/org/{org.slug}/members/{member_seat.pk}/remove/", {}),
        (f"/cards/org/{org.slug}/transfer/", {"new_owner": member_seat.pk, "confirm": "on"}),
        (f"/cards/org/{org.slug}/leave/", {}),
        # Their own organisation's address with a seat of the other one: not found either.
        (f"/cards/org/{other_org.slug}/members/{member_seat.pk}/role/", {"role": "admin"}),
        (f"/cards/org/{other_org.slug}/members/{member_seat.pk}/remove/", {}),
    ):
        assert client.post(url, data).status_code == 404, url
    transfer = client.post(
        f"/cards/org/{other_org.slug}/transfer/", {"new_owner": member_seat.pk, "confirm": "on"}
    )
    assert transfer.status_code == 400  # refused by the form: the seat is not in this organisation
    assert (_role(member_seat), _role(owner_seat), _role(own_seat)) == ("member", "owner", "owner")
    assert Membership.objects.filter(pk=member_seat.pk).exists()
    assert (
        Lead.objects.count() == 0
        and not SecurityEvent.objects.filter(action__startswith="cards.membership").exists()
    )


def test_a_member_who_left_can_rejoin_with_a_new_invitation(org, admin_user, member_seat, card):
    accounts_services.membership_remove(membership=member_seat, actor=member_seat.user)
    invitation = services.invitation_create(
        organisation=org, email=member_seat.user.email, invited_by=admin_user
    )
    _user, again = services.invitation_accept(invitation=invitation, user=member_seat.user)
    assert again.pk == card.pk  # the organisation's card comes back, still deactivated until reactivated
    assert Membership.objects.get(organisation=org, user=member_seat.user).role == "member"


def test_a_member_invited_without_a_name_gets_the_name_they_sign_up_with(org, admin_user):
    seat = _join(org, admin_user, "nora@alpha.example", name="Nora  van Dijk")
    card = Card.objects.get(owner=seat.user, organisation=org)
    assert (card.first_name, card.last_name) == ("Nora", "van Dijk")


@pytest.fixture
def former_members_card(client, org, admin_user, member_seat, card):
    """The member was removed by an administrator: their card is deactivated and kept in the organisation."""
    client.force_login(admin_user)
    assert client.post(f"/cards/org/{org.slug}/members/{member_seat.pk}/remove/").status_code == 302
    card.refresh_from_db()
    assert not card.is_active
    return card


def test_an_admin_cannot_republish_the_card_of_a_former_member(client, org, admin_user, former_members_card):
    card = former_members_card
    response = client.post(
        f"/en/cards/org/{org.slug}/cards/{card.slug}/",
        {"template": "", "groups": "sales", "department": "", "active": "1"},
    )
    assert response.status_code == 400 and "no longer a member" in response.content.decode()
    card.refresh_from_db()
    assert not card.is_active and card.groups == []  # nothing of the refused change was kept
    assert client.get(f"/c/{card.slug}").status_code == 404
    with translation.override("en"), pytest.raises(Exception, match="no longer a member"):
        services.card_set_active(card=card, active=True)
    # A card whose owner is still a member is reactivated as before.
    kept = services.card_set_active(card=Card.objects.get(organisation=org, owner=admin_user), active=False)
    client.post(f"/cards/org/{org.slug}/cards/{kept.slug}/", {"template": "", "groups": "", "active": "1"})
    kept.refresh_from_db()
    assert kept.is_active


def test_the_api_cannot_republish_nor_recreate_the_card_of_a_former_member(
    client, org, api_key, member, former_members_card
):
    card = former_members_card
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    patched = client.patch(
        f"/api/v1/cards/{card.slug}", {"is_active": True}, content_type="application/json", **auth
    )
    assert patched.status_code in (200, 422) and patched.json().get("is_active") in (False, None)
    recreated = client.post(
        "/api/v1/cards/",
        {"owner_email": member.email, "first_name": "Bob"},
        content_type="application/json",
        **auth,
    )
    assert recreated.status_code == 422
    assert not Card.objects.filter(owner=member, organisation=org, is_active=True).exists()
    assert client.get(f"/c/{card.slug}").status_code == 404
