"""Turning text into search terms: accent folding, stop words, typo correction, snowball stemming, language."""

import re
import unicodedata
from functools import lru_cache

import py3langid
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH
from rapidfuzz import fuzz, process

LANGUAGES = ("fr", "en")
STEMMERS = {"fr": "french", "en": "english"}
WORD = re.compile(r"[a-z0-9]+")
# Words that carry no meaning for this product's questions, on top of the usual stop words.
EXTRA_STOPWORDS = {
    "fr": {
        "quoi",
        "combien",
        "comment",
        "quel",
        "quelle",
        "quels",
        "quelles",
        "pourquoi",
        "est",
        "ce",
        "peut",
        "puis",
        "pouvez",
        "vous",
        "votre",
        "vos",
        "mon",
        "mes",
        "ma",
        "je",
        "nous",
        "notre",
        "nos",
        "tessera",
        "elles",
        "quand",
    },
    "en": {
        "what",
        "how",
        "long",
        "does",
        "do",
        "can",
        "which",
        "why",
        "tessera",
        "you",
        "your",
        "i",
        "my",
        "me",
        "we",
        "our",
        "us",
        "is",
        "are",
        "there",
        "please",
        "tell",
        "who",
        "when",
        "where",
    },
}
# A corrected word must be this close to a word of the index (rapidfuzz ratio, 0-100).
TYPO_CUTOFF = 88


# Words that ask "how long": they send the question to the register's retention first, and say nothing of the topic.
RETENTION_WORDS = frozenset(
    "long keep kept retain retention deleted delete erased combien temps garde gardez gardes conserve conservez "
    "conservee conservees conserves conservation duree dure supprime supprimee supprimees supprimes".split()
)


def fold(text: str) -> str:
    """Lower case without accents: "Données" and "donnees" are one word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("œ", "oe")


@lru_cache(maxsize=2)
def _stopwords(language: str) -> frozenset:
    words = STOPWORDS_FRENCH if language == "fr" else STOPWORDS_EN
    return frozenset(fold(w) for w in (*words, *EXTRA_STOPWORDS[language]))


@lru_cache(maxsize=2)
def _stemmer(language: str):
    return Stemmer.Stemmer(STEMMERS[language])


def words(text: str, language: str) -> list[str]:
    """The folded words of a text that are not stop words (apostrophes split "l'adresse")."""
    stop = _stopwords(language)
    return [w for w in WORD.findall(fold(text)) if w not in stop and (len(w) > 1 or w.isdigit())]


def stems(tokens: list[str], language: str) -> list[str]:
    out = _stemmer(language).stemWords(tokens)
    if language == "fr":
        # Snowball keeps the "-ons" of "nous vendons" that it strips from "vendez": one stem for both persons.
        out = [s[:-2] if s.endswith("on") and len(s) >= 6 else s for s in out]
    return out


def corrected(tokens: list[str], language: str, stem_vocabulary: frozenset, choices: tuple) -> list[str]:
    """Each unknown word of four letters or more replaced by the closest word of the index, if close enough.

    A word is known when its stem is: "conservez" finds "conservons" and "conservé" through their stem, and only
    a word whose stem the index lacks is a typo.
    """
    out = []
    for token, stem in zip(tokens, stems(tokens, language), strict=True):
        if stem in stem_vocabulary or len(token) < 4 or token.isdigit():
            out.append(token)
            continue
        match = process.extractOne(token, choices, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
        out.append(match[0] if match else token)
    return out


@lru_cache(maxsize=1)
def _identifier():
    # The model ships inside the package: nothing is downloaded.
    return py3langid.langid.LanguageIdentifier.from_model_file(py3langid.langid.MODEL_FILE, norm_probs=True)


def language_detected(text: str, default: str) -> str:
    """ "fr", "en", or "other" when the question is clearly in another language.

    Short questions are unreliable for any detector: under four words, or when the detector hesitates, the
    asked language wins. Between French and English only, the stop words decide when the detector's
    choice among all languages is not one of them but close.
    """
    tokens = WORD.findall(fold(text))
    if len(tokens) < 3:
        return default
    language, probability = _identifier().classify(text)
    if language in LANGUAGES:
        return language
    fr_hits = sum(t in _stopwords("fr") for t in tokens)
    en_hits = sum(t in _stopwords("en") for t in tokens)
    if probability >= 0.5 and max(fr_hits, en_hits) * 3 < len(tokens):
        return "other"
    if fr_hits != en_hits:
        return "fr" if fr_hits > en_hits else "en"
    return default
