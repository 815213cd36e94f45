"""Janus settings: none by default (mesh only), and production refuses a Janus without real secrets."""

from django.conf import settings

from tessera.meetings.room.janus import janus_enabled
from tests.core.test_headers import DIRECTORY_KEY, LEGAL, _production_settings


def test_the_embedded_default_has_no_janus_and_stays_mesh_only():
    assert settings.JANUS_URLS == [] and not janus_enabled()


def _production_with_janus(tmp_path, **janus):
    return _production_settings(
        TESSERA_SECRET_KEY="x" * 50,
        TESSERA_DIRECTORY_KEYS=DIRECTORY_KEY,
        TESSERA_VAR_DIR=str(tmp_path),
        JANUS_URLS="ws://10.0.0.5:8188",
        **LEGAL,
        **janus,
    )


def test_production_refuses_a_janus_with_a_sample_or_missing_secret(tmp_path):
    sample = _production_with_janus(tmp_path, JANUS_API_SECRET="janusrocks", JANUS_ADMIN_KEY="k" * 40)
    assert sample.returncode != 0 and "JANUS_API_SECRET" in sample.stderr
    keyless = _production_with_janus(tmp_path, JANUS_API_SECRET="s" * 40)
    assert keyless.returncode != 0 and "JANUS_ADMIN_KEY" in keyless.stderr
    good = _production_with_janus(tmp_path, JANUS_API_SECRET="s" * 40, JANUS_ADMIN_KEY="k" * 40)
    assert good.returncode == 0, good.stderr
