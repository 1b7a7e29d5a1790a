"""Look-alike identifiers (Unicode TS #39, confusable detection): two emails or usernames
whose skeletons are equal read the same, so the second is refused as taken.

The mapping is Unicode's confusables.txt, as the confusable-homoglyphs package ships it (its
pairs, without their direction): each set of characters confusables.txt maps to one prototype
becomes one class, written as one representative (an ASCII character where the class has one);
a character whose prototype is several characters (U+0271 -> "rn") maps to them. A skeleton
is for comparison only, never shown or used as the identifier itself."""

import functools
import json
import unicodedata
from importlib.resources import files

_BIDI_MARKS = "\u200e\u200f"


def _rank(char: str) -> tuple[bool, int]:
    return (not char.isascii(), ord(char))


@functools.cache
def _prototypes() -> dict[str, str]:
    text = files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    pairs: dict[str, list[dict[str, str]]] = json.loads(text)
    parent: dict[str, str] = {}

    def find(char: str) -> str:
        root = char
        while parent.get(root, root) != root:
            root = parent[root]
        parent[char] = root
        return root

    def union(first: str, second: str) -> None:
        a, b = find(first), find(second)
        if a != b:
            keep, drop = (a, b) if _rank(a) <= _rank(b) else (b, a)
            parent[drop] = keep

    longer: dict[str, str] = {}
    for key, entries in pairs.items():
        source = key.strip(_BIDI_MARKS)
        if len(source) != 1:
            continue
        for entry in entries:
            other = entry["c"].strip(_BIDI_MARKS)
            if len(other) == 1:
                union(source, other)
            elif other:
                longer[source] = other
    mapping = {char: find(char) for char in parent if find(char) != char}
    mapping.update(longer)
    return mapping


def skeleton(text: str) -> str:
    """TS #39's skeleton(X) = NFD(map(NFD(X))), after NFKC and case folding (identifiers
    here are compared without case)."""
    prototypes = _prototypes()
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    mapped = "".join(prototypes.get(char, char) for char in folded)
    return unicodedata.normalize("NFD", mapped)


def email_skeleton(local: str, domain: str) -> str:
    """The local part's skeleton and the (Unicode) domain's, so that a Cyrillic letter in
    either reads as the Latin one."""
    return f"{skeleton(local)}@{skeleton(domain)}"
