"""`POST /api/v1/assistant/ask`: public, cookie-free, rate-limited per network; the question is never kept."""

from typing import Literal

from django.conf import settings
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from tessera.core.api import ApiError, accepted_language, error_responses
from tessera.core.ratelimit import ip_hash, limit_hit

from .services import assistant_answer

router = Router(tags=["assistant"], auth=None)
MAX_QUESTION = 1000


class QuestionIn(Schema):
    question: str = Field(min_length=1, max_length=MAX_QUESTION, pattern=r"\S")
    lang: Literal["fr", "en"] | None = Field(
        None, description="The site's language; by default Accept-Language's."
    )


class SourceOut(Schema):
    title: str
    url: str


class AnswerOut(Schema):
    answer: str
    sources: list[SourceOut]
    confident: bool
    contact_url: str = Field(
        description="The contact form, pre-filled with the question, when not confident."
    )


@router.post("/ask", response={200: AnswerOut, **error_responses(400, 422, 429)}, url_name="assistant_ask")
def ask(request, payload: QuestionIn):
    limit, period = getattr(settings, "TESSERA_ASSISTANT_RATE", (60, 60))
    verdict = limit_hit(scope="site.assistant", key=ip_hash(request), limit=limit, period=period)
    if not verdict.allowed:
        raise ApiError(429, _("Too many requests."), retry_after=verdict.retry_after)
    return assistant_answer(question=payload.question, language=payload.lang or accepted_language(request))
