"""Detect an article's language when its source does not state it (py3langid, offline).

Pure: text in, language code out; the model ships inside py3langid and loads once, lazily.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Below this many letters a guess is noise ("Putin warns NATO" comes out Italian or Dutch);
# tonewatch reads English-language outlets, so a text too short to tell is taken as English.
MIN_LETTERS_TO_DETECT = 40
# Detection reads the title and the beginning of the text: enough to be sure, and the
# cost stays flat however long the article is.
DETECT_CHARS = 2000
DEFAULT_LANGUAGE = "en"

_LETTER = re.compile(r"[^\W\d_]")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def language_tag(value: str | None) -> str | None:
    """A declared language reduced to its primary subtag: ``en-US`` → ``en``; blank → None."""
    if not value or not value.strip():
        return None
    primary = re.split(r"[-_\s]", value.strip(), maxsplit=1)[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def detect_language(text: str) -> str:
    """The ISO 639-1 code of ``text``'s language; short texts are taken as English."""
    sample = text[:DETECT_CHARS]
    if len(_LETTER.findall(sample)) < MIN_LETTERS_TO_DETECT:
        return DEFAULT_LANGUAGE
    language, _confidence = _identifier().classify(sample)
    return str(language)
