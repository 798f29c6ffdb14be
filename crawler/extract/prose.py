"""How much prose a text holds, in words, whatever the script.

Whitespace separates words in most scripts, but not in Chinese, Japanese, Thai, Lao,
Khmer or Myanmar: a Japanese paragraph is one "word" to ``str.split``. Runs of those
scripts are counted from their characters instead, at the average length of a word
(measured on segmented news text): about 2 characters for Chinese and Japanese (Han,
kana), about 6 code points (combining marks included) for Thai, Lao, Khmer and
Myanmar. Korean separates its words with spaces and needs nothing special.
"""

from __future__ import annotations

import re

# Characters per word in the scripts written without spaces between words.
CJK_CHARS_PER_WORD = 2.0
SOUTHEAST_ASIAN_CHARS_PER_WORD = 6.0
_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u31f0-\u31ff\uff66-\uff9f"  # katakana extensions, half-width katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\U00020000-\U0003134f"  # CJK ideographs, supplementary planes
)
_SOUTHEAST_ASIAN = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
_CJK_RUN = re.compile(f"[{_CJK}]+")
_SEA_RUN = re.compile(f"[{_SOUTHEAST_ASIAN}]+")
_WORD = re.compile(r"\w")


def prose_words(text: str) -> int:
    """Words in *text*: whitespace-separated tokens with a letter or digit in them, plus
    runs of CJK and Southeast Asian scripts counted from their length."""
    cjk = sum(len(run) for run in _CJK_RUN.findall(text))
    if cjk:
        text = _CJK_RUN.sub(" ", text)
    sea = sum(len(run) for run in _SEA_RUN.findall(text))
    if sea:
        text = _SEA_RUN.sub(" ", text)
    spaced = sum(1 for token in text.split() if _WORD.search(token))
    estimated = cjk / CJK_CHARS_PER_WORD + sea / SOUTHEAST_ASIAN_CHARS_PER_WORD
    return spaced + int(estimated + 0.5)  # (half up)


def has_prose(text: str, min_words: int) -> bool:
    """True when some paragraph has at least *min_words* words.

    A paragraph is a line: trafilatura writes each paragraph of an article on a line of
    its own, and a list of headlines or menu entries as short lines one under another
    (which, taken as one block, would pass for a paragraph).
    """
    return any(prose_words(line) >= min_words for line in text.splitlines())
