"""Names made from what a tool author wrote: addresses from titles, a row's name from
its table's.

``slugify("Dépenses")`` is ``depenses``: page addresses, and a tool's data folder and
program name, are plain ASCII (lower-case letters, digits and ``-``), accented letters
folded to their base letter rather than dropped. ``singular("expenses")`` is ``expense``:
English, from a few rules and a few irregular words, enough for table names (a word they
miss comes out a letter off, as "canvase", never empty).
"""

from __future__ import annotations

import re
import unicodedata

from deskwork.errors import ToolError

# Letters that NFKD does not split into a base letter and a combining mark
# (\u0131 is the dotless i).
_UNSPLIT_LETTERS = str.maketrans(
    {"æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "\u0131": "i", "ł": "l",
     "þ": "th", "ŧ": "t"}
)  # fmt: skip


def ascii_name(title: str) -> str:
    """``title`` as lower-case ASCII words joined by ``-``; empty if no letter or digit is
    left. ``"Dépenses"`` -> ``depenses``, ``"Straße"`` -> ``strasse``, ``"Œuvres"`` ->
    ``oeuvres``."""
    folded = title.casefold().translate(_UNSPLIT_LETTERS)  # casefold: ß -> ss
    split = unicodedata.normalize("NFKD", folded)  # é -> e + a combining accent, ﬁ -> fi
    letters = "".join(c for c in split if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", letters).strip("-")


def slugify(title: str) -> str:
    """``title`` as an address (see ``ascii_name``); a ``ToolError`` if no letter or digit
    of it folds to ASCII (a title all in Chinese, say)."""
    slug = ascii_name(title)
    if not slug:
        raise ToolError(
            f"The title {title!r} has no letter from a to z or digit to make an address "
            "from: add one to it."
        )
    return slug


# Words whose singular the rules below would get wrong.
_IRREGULAR = {
    "people": "person", "children": "child", "men": "man", "women": "woman",
    "mice": "mouse", "geese": "goose", "feet": "foot", "teeth": "tooth",
    "criteria": "criterion", "indices": "index", "matrices": "matrix", "vertices": "vertex",
    "analyses": "analysis", "crises": "crisis", "diagnoses": "diagnosis", "theses": "thesis",
    "leaves": "leaf", "lives": "life", "knives": "knife", "wives": "wife", "halves": "half",
    "shelves": "shelf", "thieves": "thief", "wolves": "wolf",
    "heroes": "hero", "potatoes": "potato", "tomatoes": "tomato",
    "movies": "movie", "cookies": "cookie", "caches": "cache", "menus": "menu",
    "quizzes": "quiz", "aliases": "alias",
}  # fmt: skip
# Words ending in s that are the same in the singular.
_UNCHANGED = {"news", "series", "species", "analytics"}


def singular(name: str) -> str:
    """What one of ``name`` is called: its last word in the singular.

    ``categories`` -> ``category``, ``addresses`` -> ``address``, ``boxes`` -> ``box``,
    ``status`` -> ``status``, ``people`` -> ``person``, ``expense claims`` ->
    ``expense claim``.
    """
    head, space, word = name.rpartition(" ")
    return head + space + _singular_word(word)


def _singular_word(word: str) -> str:
    if word in _UNCHANGED:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) < 3 or not word.endswith("s") or word.endswith(("ss", "us", "sis")):
        return word  # not a plural: class, status, analysis
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"  # categories; but ties, pies
    if word.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]  # addresses, boxes, matches, dishes, buzzes
    if re.search(r"[^aeiou]uses$", word):
        return word[:-2]  # statuses, buses; but houses, causes
    return word[:-1]
