"""The assistant against its test set: top-1 accuracy, and no confident answer to what the product doesn't do."""

import json
from pathlib import Path

import pytest

from tessera.site.assistant.services import assistant_answer

pytestmark = pytest.mark.django_db
QUESTIONS = json.loads((Path(__file__).parent / "assistant_questions.json").read_text())


def test_the_set_is_large_and_balanced():
    assert len(QUESTIONS) >= 80
    french = sum(q["lang"] == "fr" for q in QUESTIONS)
    assert abs(2 * french - len(QUESTIONS)) <= 2
    assert sum(q["expect"] is None for q in QUESTIONS) >= 10


def test_top1_accuracy_and_out_of_scope():
    in_scope = [q for q in QUESTIONS if q["expect"] is not None]
    right, confident_out = 0, []
    for q in QUESTIONS:
        body = assistant_answer(question=q["q"], language=q["lang"])
        if q["expect"] is None:
            if body["confident"]:
                confident_out.append(q["q"])
        elif body["confident"] and q["expect"].lower() in body["answer"].lower():
            right += 1
    assert confident_out == []
    assert right / len(in_scope) >= 0.85, right / len(in_scope)
