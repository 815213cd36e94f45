"""What every router of the JSON API shares: one error body, documented on each operation, and answers in
English unless the client's Accept-Language asks for another language the product speaks."""

from functools import wraps

from django.http import Http404
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaError

# An API's callers are programs and their developers: English unless they ask, whatever the site's default.
API_LANGUAGE = "en"


class ErrorOut(Schema):
    """The body of every error answer of the API."""

    detail: str = Field(
        description="What went wrong, in the language of Accept-Language (English by default)."
    )
    errors: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Messages per field, when the problem lies in fields (`body.title`, `query.since`…).",
    )


class ApiError(HttpError):
    """An error answer that names the fields at fault, e.g. from a service's ValidationError."""

    def __init__(
        self,
        status_code: int,
        message: str,
        errors: dict[str, list[str]] | None = None,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(status_code, message)
        self.errors = errors or {}
        self.retry_after = retry_after


def error_responses(*codes: int) -> dict[int, type[ErrorOut]]:
    """The documented error answers of an operation, for its `response={...}`."""
    return dict.fromkeys(codes, ErrorOut)


def links(status: int, parameter: str, pointer: str, **operations: str) -> dict:
    """`openapi_extra` declaring OpenAPI links: which operations take this answer's `pointer` as `parameter`.

    Generated clients and the stateful fuzzing of the test suite follow them.
    """
    return {
        "responses": {
            status: {  # an int, as Ninja keys its own responses, so the two merge
                "links": {
                    name: {"operationId": operation, "parameters": {parameter: f"$response.body#{pointer}"}}
                    for name, operation in operations.items()
                }
            }
        }
    }


def accepted_language(request) -> str:
    """The first language of Accept-Language the product speaks; English when none is asked for."""
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return API_LANGUAGE


def answer_in_accepted_language(run):
    """Ninja view decorator: the whole operation (authentication, validation, errors) speaks one language."""

    @wraps(run)
    def operation(request, *args, **kwargs):
        language = accepted_language(request)
        with translation.override(language):
            response = run(request, *args, **kwargs)
        # The locale middleware only fills these in when missing: they must say what this answer is.
        response.headers["Content-Language"] = language
        patch_vary_headers(response, ("Accept-Language",))
        return response

    return operation


def _error(api, request, status: int, detail: str, errors: dict | None = None):
    return api.create_response(request, {"detail": detail, "errors": errors or {}}, status=status)


def _field(location: tuple) -> str:
    # ("body", "payload", "title") names the body parameter; callers know the field as body.title.
    parts = [str(part) for part in location]
    if len(parts) >= 2 and parts[0] == "body":
        parts = ["body", *parts[2:]]
    return ".".join(parts)


def error_handlers_install(api) -> None:
    """Every error the framework raises gets the documented body, in the answer's language."""

    def schema_error(request, exc: SchemaError):
        errors: dict[str, list[str]] = {}
        for problem in exc.errors:
            errors.setdefault(_field(tuple(problem.get("loc", ()))), []).append(str(problem.get("msg", "")))
        return _error(api, request, 422, _("The request does not match the API schema."), errors)

    def authentication_error(request, exc: AuthenticationError):
        response = _error(
            api, request, 401, _("A valid organisation API key is required (Authorization: Bearer).")
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    def http_error(request, exc: HttpError):
        detail = str(exc)
        if exc.status_code == 400 and detail.startswith("Cannot parse request body"):
            detail = _("The request body is not valid JSON.")
        response = _error(api, request, exc.status_code, detail, getattr(exc, "errors", None))
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            # RFC 9110 §10.2.3: a client that is told when to come back does not have to guess.
            response["Retry-After"] = str(max(1, int(retry_after)))
        return response

    def not_found(request, exc: Http404):
        return _error(api, request, 404, _("Not found."))

    api.add_exception_handler(SchemaError, schema_error)
    api.add_exception_handler(AuthenticationError, authentication_error)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(Http404, not_found)
