"""Sub-processors: their agreements are reachable as links, and one outside the EEA needs safeguards."""

import csv
import io
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

HOSTING_DPA = "https://hosting.example/legal/dpa.pdf"
EMAIL_DPA = "https://mail.example/dpa"


@pytest.fixture
def agreements(settings):
    processors = {key: dict(value) for key, value in settings.TESSERA_SUB_PROCESSORS.items()}
    processors["hosting"]["dpa_url"] = HOSTING_DPA
    processors["email"]["dpa_url"] = EMAIL_DPA
    processors["ddos"]["dpa_url"] = ""
    settings.TESSERA_SUB_PROCESSORS = processors
    return processors


class _Links(HTMLParser):
    """The links of the table with id "sub-processors", by the text of the row's first cell."""

    def __init__(self):
        super().__init__()
        self.depth, self.row, self.cells, self.links = 0, [], [], {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "sub-processors":
            self.depth = 1
        elif self.depth and tag == "tr":
            self.cells, self.row = [], []
        elif self.depth and tag == "td":
            self.cells.append("")
        elif self.depth and tag == "a" and self.cells:
            self.links.setdefault(self.cells[0].strip(), []).append(attrs.get("href"))

    def handle_endtag(self, tag):
        if tag == "table":
            self.depth = 0

    def handle_data(self, data):
        if self.depth and self.cells:
            self.cells[-1] += data


def test_the_policy_shows_each_agreement_as_a_link(client, agreements):
    html = client.get("/en/privacy/").content.decode()
    parser = _Links()
    parser.feed(html)
    assert parser.links == {
        agreements["hosting"]["name"]: [HOSTING_DPA],
        agreements["email"]["name"]: [EMAIL_DPA],
    }
    assert "Available from our DPO on request" in html  # the provider without an agreement online


def test_the_register_json_and_csv_carry_each_agreement_link(client, agreements):
    data = json.loads(client.get("/privacy/register.json").content)
    marketing = next(a for a in data["activities"] if a["id"] == "privacy.marketing")
    links = {p["name"]: p["dpa_url"] for p in marketing["sub_processors"]}
    assert links == {agreements["hosting"]["name"]: HOSTING_DPA, agreements["email"]["name"]: EMAIL_DPA}
    rows = list(csv.DictReader(io.StringIO(client.get("/en/privacy/register.csv").content.decode())))
    processors = next(r for r in rows if r["Reference"] == "privacy.marketing")["Processors"]
    assert HOSTING_DPA in processors and EMAIL_DPA in processors


def _check(**env):
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--settings=tests.privacy.non_eea_settings"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.privacy.non_eea_settings", **env},
    )


def test_start_up_refuses_a_provider_outside_the_eea_without_safeguards_and_accepts_it_with_them():
    refused = _check(TESSERA_TEST_SAFEGUARDS="")
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "United States" in refused.stderr and "transfer_safeguards" in refused.stderr
    accepted = _check(TESSERA_TEST_SAFEGUARDS="1")
    assert accepted.returncode == 0, accepted.stderr[-2000:]


def test_a_provider_outside_the_eea_is_shown_as_a_transfer_with_its_safeguards(client, settings):
    processors = {key: dict(value) for key, value in settings.TESSERA_SUB_PROCESSORS.items()}
    processors["email"].update(
        name="Faraway Mail Inc.",
        country="United States",
        transfer_safeguards="Standard contractual clauses (2021/914)",
    )
    settings.TESSERA_SUB_PROCESSORS = processors
    html = client.get("/en/privacy/").content.decode()
    section = html[html.index('id="transfers"') :]
    assert "Faraway Mail Inc. (United States)" in section
    assert "Standard contractual clauses (2021/914)" in section
