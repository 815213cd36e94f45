"""The BM25 index of one language's passages, built once per process and rebuilt when the register changes."""

import threading
from dataclasses import dataclass

import bm25s
import numpy as np

from .passages import Passage, passages_build, passages_key
from .text import RETENTION_WORDS, corrected, stems, words

# How much more a register passage weighs when the question asks how long something is kept.
RETENTION_BOOST = 1.3


@dataclass
class Index:
    key: str
    passages: list[Passage]
    words: list[set]  # the folded words of each passage, for coverage
    register: np.ndarray  # 1 for the register's passages
    vocabulary: frozenset
    choices: tuple
    bm25: bm25s.BM25

    def search(self, query_words: list[str], language: str) -> tuple[int, float, float]:
        """(passage number, BM25 score, share of the query's words found in that passage)."""
        tokens = stems(query_words, language)
        scores = self.bm25.get_scores(tokens)
        if RETENTION_WORDS & set(query_words):
            scores = scores * (1 + (RETENTION_BOOST - 1) * self.register)
        best = int(np.argmax(scores))
        topic = set(query_words) - RETENTION_WORDS
        found = sum(1 for w in topic if w in self.words[best])
        return best, float(scores[best]), found / max(1, len(topic))


_indexes: dict[str, Index] = {}
_lock = threading.Lock()


def _built(language: str, key: str) -> Index:
    passages = passages_build(language)
    # The title counts twice: it names what the passage is about.
    passage_words = [words(f"{p.title} {p.title} {p.keywords} {p.text}", language) for p in passages]
    retriever = bm25s.BM25()
    retriever.index([stems(w, language) for w in passage_words], show_progress=False)
    vocabulary = frozenset(w for ws in passage_words for w in ws)
    register = np.array([p.source == "register" for p in passages], dtype=float)
    return Index(
        key,
        passages,
        [set(ws) for ws in passage_words],
        register,
        vocabulary,
        tuple(sorted(vocabulary)),
        retriever,
    )


def index_get(language: str) -> Index:
    key = passages_key(language)
    index = _indexes.get(language)
    if index is None or index.key != key:
        with _lock:
            index = _indexes.get(language)
            if index is None or index.key != key:
                index = _indexes[language] = _built(language, key)
    return index


def query_words(question: str, index: Index, language: str) -> list[str]:
    return corrected(words(question, language), index.vocabulary, index.choices)
