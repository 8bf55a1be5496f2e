"""Look-alike usernames: a skeleton in the manner of Unicode TR 39 section 4, so that
`bıgbird` (dotless i) or `bіgbird` (Cyrillic і) cannot sit beside an existing `bigbird`.

skeleton(x) = NFD(map(casefold(NFKC(x)))), with `map` replacing each character by the
Latin letter it imitates. The table is the subset of Unicode's confusables.txt (TR 39
data), chosen by hand, whose targets are ASCII letters and digits, for the scripts that imitate Latin
best (Cyrillic, Greek, Armenian, Cherokee, IPA and small capitals); NFKC already folds
full-width, mathematical and other compatibility forms. Kept here rather than as a
dependency: no maintained package on PyPI computes TR 39 skeletons without ICU.
"""

from __future__ import annotations

import unicodedata

_MAP = {
    # Latin extensions and IPA
    "ı": "i", "ɩ": "i", "ɪ": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɢ": "g", "ʟ": "l", "ɴ": "n",
    "ʀ": "r", "ʏ": "y", "ᴀ": "a", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ᴊ": "j", "ᴋ": "k", "ᴍ": "m",
    "ᴏ": "o", "ᴘ": "p", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "ƅ": "b", "ɒ": "a",
    "ǀ": "l", "ɾ": "r", "ʋ": "u", "ʂ": "s", "ꞵ": "b", "ꜱ": "s",
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "һ": "h", "і": "i",
    "ј": "j", "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "г": "r",
    "ѕ": "s", "т": "t", "у": "y", "ү": "y", "ѵ": "v", "ԝ": "w", "х": "x", "ҳ": "x", "ь": "b",
    "ԍ": "g", "ԃ": "d", "ꙇ": "i",
    # Greek
    "α": "a", "β": "b", "ϐ": "b", "γ": "y", "ε": "e", "ζ": "z", "η": "n", "ι": "i", "κ": "k",
    "ϰ": "k", "μ": "u", "ν": "v", "ο": "o", "ρ": "p", "ϱ": "p", "σ": "o", "τ": "t", "υ": "u",
    "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j", "ϧ": "s",
    # Armenian and Cherokee
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "զ": "q", "ա": "w", "ք": "p",
    "ꭺ": "a", "ꮯ": "c", "ꭼ": "e", "ꮋ": "h", "ꮖ": "i", "ꮶ": "k", "ꮇ": "m", "ꮲ": "p",
    "ꮪ": "s", "ꮓ": "z",
    # Digits and punctuation that pass for letters
    "0": "o", "1": "l", "|": "l", "‐": "-", "‑": "-", "‒": "-", "–": "-", "−": "-",
}


def username_skeleton(username: str) -> str:
    """The form two usernames share when they look alike (compare these, never display)."""
    folded = unicodedata.normalize("NFKC", username).casefold()
    mapped = "".join(_MAP.get(ch, ch) for ch in unicodedata.normalize("NFD", folded))
    return unicodedata.normalize("NFD", mapped)
