"""Every email says which language it is written in, so a screen reader reads it with the right voice."""

import re
from pathlib import Path

import pytest
from django.template import TemplateDoesNotExist, engines, loader
from django.template.utils import get_app_template_dirs

from tessera.core.outbox import email_queue_template

pytestmark = pytest.mark.django_db


def email_templates() -> list[str]:
    """Every `<prefix>` the outbox can render: a `_subject.txt` with its `_message.txt`, ours or allauth's."""
    prefixes = set()
    for folder in [*engines["django"].engine.dirs, *get_app_template_dirs("templates")]:
        for subject in Path(folder).rglob("*_subject.txt"):
            prefix = str(subject.relative_to(folder))[: -len("_subject.txt")]
            try:
                loader.get_template(f"{prefix}_message.txt")
            except TemplateDoesNotExist:  # Django's own registration/ emails, which nothing sends
                continue
            prefixes.add(prefix)
    return sorted(prefixes)


# Numbers for the plural forms; any other missing variable renders empty, which is enough here.
CONTEXT = {"duration_minutes": 30, "invitee_count": 2, "days": 3, "hours": 24, "email": "ada@example.org"}
TEMPLATES = email_templates()


def test_the_enumeration_finds_every_family_of_email():
    families = {prefix.split("/")[0] for prefix in TEMPLATES}
    assert families >= {"account", "cards", "meetings", "mfa", "privacy", "socialaccount"}
    assert len(TEMPLATES) >= 30


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_email_declares_the_language_it_was_rendered_in(template, language):
    message = email_queue_template(
        to="ada@example.org", template=template, context=CONTEXT, language=language
    )
    assert re.findall(r"<html lang=\"([^\"]*)\"", message.body_html) == [language]
    assert message.headers["Content-Language"] == language
