"""The assistant: language, folding, typos, thresholds, the register as source of truth, bad inputs, privacy."""

import dataclasses
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tessera.privacy.register import Retention, registry
from tessera.site.assistant.services import assistant_answer
from tessera.site.assistant.text import fold, language_detected, stems
from tessera.site.models import AssistantDay

pytestmark = pytest.mark.django_db
URL = "/api/v1/assistant/ask"


def ask(client, question, lang="en", **headers):
    return client.post(URL, {"question": question, "lang": lang}, content_type="application/json", **headers)


def test_accent_folding_makes_one_word_of_both_spellings():
    assert fold("Données Sécurité œuvre") == "donnees securite oeuvre"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Combien de temps gardez-vous mes données ?", "fr"),
        ("How long do you keep my data?", "en"),
        ("Wie lange speichern Sie meine Daten?", "other"),
        ("¿Cuánto tiempo guardan mis datos personales?", "other"),
        ("cookies?", "en"),  # too short to tell: the asked language wins
    ],
)
def test_language_detection(question, expected):
    assert language_detected(question, "en") == expected


def test_french_persons_of_a_verb_share_a_stem():
    second, first = stems(["vendez", "vendons"], "fr")
    assert second == first
    assert len(set(stems(["conservez", "conservons", "conserve"], "fr"))) == 1


def test_a_how_long_question_answers_for_the_activity_it_names_not_the_faq_title():
    body = assistant_answer(
        question="Combien de temps gardez-vous les e-mails de prospection ?", language="fr"
    )
    assert body["confident"] and "3 ans" in body["answer"]
    assert body["sources"][0]["url"].endswith("#retention")


def test_unaccented_and_misspelt_questions_find_the_same_answer():
    right = assistant_answer(question="Combien de temps gardez-vous le journal de sécurité ?", language="fr")
    wrong = assistant_answer(question="combien de temps gardez vous le jornal de securite", language="fr")
    assert right["confident"] and wrong["confident"]
    assert right["sources"] == wrong["sources"]
    assert "12 mois" in wrong["answer"]


def test_an_answer_quotes_its_passage_and_links_its_section(client):
    body = ask(client, "How do I compare the safety code?").json()
    assert body["confident"] is True
    assert "12 digits" in body["answer"]
    assert body["sources"] == [
        {"title": "What is the safety code and how do I compare it?", "url": "/en/faq/#safety-code"}
    ]


def test_the_register_is_the_source_of_truth(monkeypatch):
    question = "How long do you keep the security log?"
    assert "12 months" in assistant_answer(question=question, language="en")["answer"]
    activity = registry.activities["core.security_log"]
    changed = dataclasses.replace(
        activity, retention=Retention("18 months, then deleted.", activity.retention.period)
    )
    monkeypatch.setitem(registry.activities, "core.security_log", changed)
    answer = assistant_answer(question=question, language="en")["answer"]
    assert "18 months" in answer and "12 months" not in answer


@pytest.mark.parametrize(
    "question",
    [
        "What is the weather in Paris tomorrow?",
        "Wie lange speichern Sie meine Daten?",
        "Quelle est la recette des crêpes ?",
    ],
)
def test_out_of_scope_or_foreign_questions_are_not_answered(client, question):
    body = ask(client, question).json()
    assert body["confident"] is False and body["sources"] == []
    assert body["contact_url"].startswith("/")
    assert "q=" in body["contact_url"]


@pytest.mark.parametrize("question", ["", "   ", "x" * 1001, "Comment ? " * 500])
def test_empty_or_oversized_questions_are_refused_with_a_clear_4xx(client, question):
    response = ask(client, question)
    assert response.status_code == 422
    assert response.json()["detail"]
    assert not AssistantDay.objects.exists()


def test_malformed_bodies_are_4xx_never_500(client):
    assert client.post(URL, "not json", content_type="application/json").status_code in (400, 422)
    assert (
        client.post(URL, {"question": "cookies", "lang": "de"}, content_type="application/json").status_code
        == 422
    )
    assert client.post(URL, {"lang": "fr"}, content_type="application/json").status_code == 422


def test_errors_speak_french_when_asked(client):
    body = ask(client, "", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert body["detail"] and "Content" not in body["detail"]


def test_the_question_is_neither_stored_nor_logged_and_only_counted(client, caplog):
    secret = "Combien de temps gardez-vous les données de zorglubette-42 ?"
    caplog.set_level(logging.DEBUG)
    with CaptureQueriesContext(connection) as queries:
        response = ask(client, secret, lang="fr")
    assert response.status_code == 200
    assert not response.cookies
    assert "zorglub" not in " ".join(str(q["sql"]) for q in queries.captured_queries)
    assert all("zorglub" not in r.getMessage() and "zorglub" not in str(r.args) for r in caplog.records)
    day = AssistantDay.objects.get()
    assert day.answered + day.unanswered == 1
    fields = {f.name for f in AssistantDay._meta.concrete_fields}
    assert fields == {"id", "day", "answered", "unanswered"}


def test_the_day_counts_answered_and_unanswered_apart(client):
    ask(client, "Do you use cookies?")
    ask(client, "What is the weather in Paris tomorrow?")
    day = AssistantDay.objects.get()
    assert (day.answered, day.unanswered) == (1, 1)


def test_public_requests_are_rate_limited_per_network(client, settings):
    settings.TESSERA_ASSISTANT_RATE = (2, 60)
    assert [ask(client, "Do you use cookies?").status_code for _ in range(3)] == [200, 200, 429]


def test_the_faq_page_has_an_anchor_per_question(client):
    response = client.get("/en/faq/")
    assert response.status_code == 200 and not response.cookies
    assert b'id="safety-code"' in response.content and b'id="cookies"' in response.content


def test_the_widget_is_on_site_pages_only(client):
    for path in ("/en/", "/en/faq/", "/en/privacy/"):
        page = client.get(path)
        assert b'id="assistant"' in page.content and b'aria-live="polite"' in page.content, path
    assert b'id="assistant"' not in client.get("/en/m/new/").content
    # The page that explains what a server-sent script could do runs none.
    assert b"<script" not in client.get("/en/security/").content
