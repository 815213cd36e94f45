"""The HTTP side of the SCIM endpoint: bearer authentication, SCIM JSON bodies and the SCIM error schema.

Every answer is `application/scim+json` (a request may say `application/json` too). Every error has the body
of RFC 7644 §3.12: `urn:ietf:params:scim:api:messages:2.0:Error`, `status` as a string, and `scimType` where
the RFC defines one. No route sets a cookie or reads a session; the bearer token is the only credential.
"""

import json
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import Context, Error, InvalidSyntaxException, InvalidValueException, SCIMException

from tessera.core.http import cookie_free

from .auth import bearer_token, scim_token_find
from .resources import PAGE_DEFAULT, PAGE_MAX, PROVIDER, patch_value_paths, schemas_known

SCIM_JSON = "application/scim+json"


def scim_response(payload: Any = None, *, status: int = 200, location: str = "") -> HttpResponse:
    response = HttpResponse(
        b"" if payload is None else json.dumps(payload), status=status, content_type=SCIM_JSON
    )
    if location:
        response["Location"] = location
    return response


def error_response(status: int, detail: str, scim_type: str | None = None) -> HttpResponse:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    response = scim_response(error.model_dump(), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="SCIM"'
    return response


def _plain(detail: str) -> str:
    """A detail on one line, without the pointers to pydantic's documentation a wrapped error carries."""
    lines = (line.strip() for line in detail.splitlines())
    return " ".join(line for line in lines if line and not line.startswith("For further information"))


def _exception_response(exc: SCIMException) -> HttpResponse:
    error = exc.to_error()
    return error_response(int(error.status or exc.status), _plain(error.detail or str(exc)), error.scim_type)


def _validation_response(exc: ValidationError) -> HttpResponse:
    error = Error.from_validation_errors(exc)[0]
    return error_response(int(error.status or 400), error.detail or "Invalid request", error.scim_type)


def body(request) -> Any:
    """The request's JSON body, with schema URNs that name nothing of it left out (resources.schemas_known)."""
    try:
        return schemas_known(json.loads(request.body or b"null"))
    except (ValueError, UnicodeDecodeError):
        raise InvalidSyntaxException(detail="The request body is not JSON") from None


def read(model, request, context) -> Any:
    """The body validated as `model` in a SCIM context (creation, replacement, patch request)."""
    payload = body(request)
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="The request body is not a JSON object")
    if context == Context.RESOURCE_PATCH_REQUEST:
        payload = patch_value_paths(payload)
    return model.model_validate(payload, scim_ctx=context, scim_provider=PROVIDER)


def paging(request) -> tuple[int, int]:
    """(startIndex, count) of a list request: 1-based, count at most PAGE_MAX (RFC 7644 §3.4.2.4)."""
    try:
        start = int(request.GET.get("startIndex") or 1)
        count = int(request.GET.get("count") or PAGE_DEFAULT)
    except ValueError:
        raise InvalidValueException(detail="startIndex and count are integers") from None
    return max(start, 1), min(max(count, 0), PAGE_MAX)


def base_url(request) -> str:
    return request.build_absolute_uri("/scim/v2").rstrip("/")


def scim_endpoint(*methods: str):
    """A SCIM view: its methods, the organisation of the bearer token as `request.organisation`, SCIM errors.

    CSRF does not apply (no cookie authenticates a request here) and no answer sets a cookie.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            # The token first: a caller without one learns nothing of the routes, their methods included.
            record = scim_token_find(bearer_token(request))
            if record is None:
                return error_response(401, "A valid SCIM bearer token is required")
            if request.method not in methods:
                response = error_response(405, f"{request.method} is not supported here")
                response["Allow"] = ", ".join(methods)
                return response
            request.organisation = record.organisation
            try:
                # SCIM clients are programs: error details are English whatever the site's default language.
                with translation.override("en"):
                    return view(request, *args, **kwargs)
            except SCIMException as exc:
                return _exception_response(exc)
            except ValidationError as exc:
                return _validation_response(exc)
            except RequestDataTooBig:
                return error_response(413, "The request body is too large")

        return cookie_free(csrf_exempt(wrapped))

    return decorator
