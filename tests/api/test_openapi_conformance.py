"""The OpenAPI document says what the server does: errors, null, constraints, language."""

import json

import pytest
from django.utils import translation

pytestmark = pytest.mark.django_db

ERROR = "#/components/schemas/ErrorOut"


def _operations(client):
    document = client.get("/api/v1/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation, document


def test_the_document_has_no_duplicate_keys(client):
    """Swagger UI reads the document as YAML and refuses it whole on a repeated key (json.loads keeps the last)."""
    repeated = []

    def pairs(items):
        keys = [key for key, _value in items]
        repeated.extend(key for key in set(keys) if keys.count(key) > 1)
        return dict(items)

    json.loads(client.get("/api/v1/openapi.json").content, object_pairs_hook=pairs)
    assert repeated == []


def test_every_operation_documents_its_errors_with_the_error_body(client):
    for name, operation, _document in _operations(client):
        responses = operation["responses"]
        if operation.get("security"):
            assert "401" in responses, name
        # Anything with a body, a query or a constrained path parameter can fail validation.
        if "requestBody" in operation or operation.get("parameters"):
            assert "422" in responses, name
        if "requestBody" in operation:
            assert "400" in responses, name  # a body that is not JSON
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == {"$ref": ERROR}, (name, status)


def test_the_constraints_the_server_enforces_are_in_the_schemas(client):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    event = schemas["EventIn"]["properties"]
    assert (
        event["title"]["minLength"] == 1 and event["title"]["maxLength"] == 200 and event["title"]["pattern"]
    )
    assert event["organiser_email"]["format"] == "email"
    assert event["language"]["enum"] == ["fr", "en"]
    assert "future" in event["starts_at"]["description"]
    card = schemas["CardPatch"]["properties"]
    assert card["first_name"]["anyOf"][0]["maxLength"] == 80
    assert card["website"]["anyOf"][0]["pattern"].startswith("^(https?://")
    phone = schemas["PhoneIn"]["properties"]
    assert phone["kind"]["enum"] == ["work", "mobile", "personal"] and phone["number"]["minLength"] == 1


def _patch(client, key, slug, body, **headers):
    return client.patch(
        f"/api/v1/cards/{slug}",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        **headers,
    )


def test_null_in_a_card_patch_means_no_change(client, api_key, card):
    response = _patch(
        client, api_key, card.slug, {"phones": None, "links": None, "job_title": "Lead", "bio": None}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["job_title"] == "Lead"
    assert [p["number"] for p in body["phones"]] == ["+33612345678"] and body["links"][0]["label"] == "Site"
    cleared = _patch(client, api_key, card.slug, {"phones": [], "job_title": ""})
    assert cleared.status_code == 200 and cleared.json()["phones"] == [] and cleared.json()["job_title"] == ""


def _english_and_french(message: str) -> tuple[str, str]:
    with translation.override("en"):
        english = str(translation.gettext(message))
    with translation.override("fr"):
        french = str(translation.gettext(message))
    assert english != french, "the message needs a French translation for this test"
    return english, french


@pytest.mark.parametrize(
    ("headers", "language"),
    [
        ({}, "en"),
        ({"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}, "en"),  # a language the product does not speak
        ({"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9,en;q=0.8"}, "fr"),
        ({"HTTP_ACCEPT_LANGUAGE": "de,fr;q=0.5"}, "fr"),
        ({"HTTP_ACCEPT_LANGUAGE": "en-GB"}, "en"),
    ],
)
def test_the_api_answers_in_english_unless_accept_language_asks_for_french(
    client, api_key, headers, language
):
    english, french = _english_and_french("Enter a valid email address.")
    # The site's own language choice (French by default, or a cookie) does not reach the API.
    client.cookies["django_language"] = "fr"
    body = {"title": "T", "starts_at": "2030-01-01T10:00:00", "organiser_email": "nobody", "language": "en"}
    response = client.post(
        "/api/v1/meetings/events",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key}",
        **headers,
    )
    assert response.status_code == 400
    assert response.json()["errors"]["organiser_email"] == [english if language == "en" else french]
    assert response["Content-Language"] == language and "Accept-Language" in response["Vary"]


def test_framework_errors_have_the_documented_body(client, api_key):
    unauthenticated = client.get("/api/v1/cards/")
    assert unauthenticated.status_code == 401 and unauthenticated["WWW-Authenticate"] == "Bearer"
    assert set(unauthenticated.json()) == {"detail", "errors"} and unauthenticated["Content-Language"] == "en"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    missing = client.get("/api/v1/cards/nope", **auth)
    assert missing.status_code == 404 and missing.json() == {"detail": "Not found.", "errors": {}}
    not_json = client.post("/api/v1/meetings/events", "{", content_type="application/json", **auth)
    assert not_json.status_code == 400 and not_json.json()["detail"] == "The request body is not valid JSON."
    bad_id = client.delete("/api/v1/cards/webhooks/99999999999999999999999", **auth)
    assert bad_id.status_code == 422 and "path.webhook_id" in bad_id.json()["errors"]
