"""Which language a text is in (py3langid, its model loaded once per process)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# Below this many characters a language guess is noise; the field is then left out.
LANGUAGE_MIN_CHARS = 200
LANGUAGE_MIN_CONFIDENCE = 0.9

# The first few thousand characters say the language as well as the whole text does,
# at a fraction of the cost on long articles.
LANGUAGE_SAMPLE_CHARS = 3000


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(
        MODEL_FILE, norm_probs=True, min_confidence=LANGUAGE_MIN_CONFIDENCE
    )


def detect_language(text: str) -> str | None:
    """ISO 639-1 code, or None when the text is short or the guess unsure."""
    if len(text) < LANGUAGE_MIN_CHARS:
        return None
    lang, _ = _identifier().classify(text[:LANGUAGE_SAMPLE_CHARS])
    return None if lang == "und" else lang


def likeliest_language(text: str, among: set[str]) -> str | None:
    """Of the languages *among*, the one *text* is likeliest to be in (None if none)."""
    ranked = _identifier().rank(text[:LANGUAGE_SAMPLE_CHARS])
    return next((lang for lang, _ in ranked if lang in among), None)
