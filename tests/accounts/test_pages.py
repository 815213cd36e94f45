"""Account pages render in the product's layout, in both languages, with nothing the strict CSP blocks."""

import pytest

from tests.accounts.conftest import reauthenticate, totp_activate
from tests.accounts.support import inline_code

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("totp_window")]

MANAGE_PAGES = [
    "/accounts/",
    "/accounts/email/",
    "/accounts/password/change/",
    "/accounts/3rdparty/",
    "/accounts/2fa/",
    "/accounts/2fa/totp/deactivate/",
    "/accounts/2fa/recovery-codes/",
    "/accounts/2fa/recovery-codes/generate/",
    "/accounts/2fa/webauthn/",
    "/accounts/2fa/webauthn/add/",
    "/accounts/2fa/reauthenticate/",
    "/accounts/logout/",
]


@pytest.mark.parametrize("language", ["", "/en"])
def test_signed_in_account_pages_hold_no_inline_code(signed_in, language):
    totp_activate(signed_in)
    reauthenticate(signed_in)
    for path in MANAGE_PAGES:
        response = signed_in.get(language + path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert (
            'class="container manage-layout"' in html or 'class="auth-layout"' in html or path == "/accounts/"
        )
        assert inline_code(html) == [], path


def test_pages_load_scripts_only_as_modules_from_our_static_files(signed_in):
    reauthenticate(signed_in)
    html = signed_in.get("/accounts/2fa/webauthn/add/").content.decode()
    assert '<script type="module" src="/static/tessera/js/accounts/webauthn-forms.js"></script>' in html
    assert "mfa/js/" not in html and "onload.js" not in html


def test_the_email_page_confirms_before_removing_an_address(signed_in):
    html = signed_in.get("/en/accounts/email/").content.decode()
    assert 'data-confirm="Remove the selected email address from your account?"' in html
    assert "/static/tessera/js/accounts/confirm.js" in html


def test_my_space_links_to_every_account_setting(signed_in, user):
    html = signed_in.get("/en/accounts/").content.decode()
    assert user.email in html
    for url in [
        "/en/accounts/email/",
        "/en/accounts/password/change/",
        "/en/accounts/2fa/",
        "/en/accounts/3rdparty/",
    ]:
        assert f'href="{url}"' in html
