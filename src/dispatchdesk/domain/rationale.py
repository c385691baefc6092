"""Rationale checks: a closing, downgrade or review rationale must be specific to the incident.

Text near-identical to a template, or to another incident's rationale, is refused with a
message the operator can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher
from functools import cache
from types import ModuleType

MIN_RATIONALE_CHARS = 15
SIMILARITY_LIMIT = 0.9

#: Stock phrases seen copied into CAD rationales; matching one of these is refused.
TEMPLATES: tuple[str, ...] = (
    "no further police action required",
    "no further action",
    "nfa",
    "words of advice given",
    "all parties spoken to and advised",
    "matter resolved no offences disclosed",
    "caller no longer requires police",
    "duplicate incident",
    "as per previous",
)

_WS = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    return _WS.sub(" ", text.lower()).strip()


def rationale_problem(
    text: str,
    others: Iterable[str] = (),
    what: str = "rationale",
    templates: Iterable[str] = TEMPLATES,
) -> str | None:
    """``None`` when ``text`` is acceptable, otherwise a sentence saying what to fix."""
    norm = normalise(text)
    if len(norm) < MIN_RATIONALE_CHARS:
        return too_short(what)
    found = template_match(norm, templates)
    if found is not None:
        return stock_phrase(what, found[0])
    for other in others:
        if _similar(norm, normalise(other)):
            return (
                f"The {what} is almost the same as another incident's. "
                "Write a rationale specific to this incident."
            )
    return None


def too_short(what: str) -> str:
    return (
        f"The {what} is too short: say, in at least {MIN_RATIONALE_CHARS} characters, "
        "what was found and why this decision fits this incident."
    )


def stock_phrase(what: str, template: str) -> str:
    return (
        f"The {what} reads like the stock phrase “{template}”. "
        "Write what happened at this incident and why."
    )


def template_match(norm: str, templates: Iterable[str] = TEMPLATES) -> tuple[str, float] | None:
    """The template a *normalised* text is near-identical to, with the similarity, or None
    (the most similar one when several are)."""
    best: tuple[str, float] | None = None
    for template in templates:
        ratio = similarity(norm, normalise(template))
        if ratio and (best is None or ratio > best[1]):
            best = (template, ratio)
    return best


def _similar(a: str, b: str) -> bool:
    """Word-level similarity: fast enough to check against hundreds of recent rationales."""
    return similarity(a, b) >= SIMILARITY_LIMIT


@cache
def _indel() -> ModuleType:
    """rapidfuzz's Indel, imported at the first comparison: a desk that never checks a
    rationale does not hold the library (3 MB)."""
    from rapidfuzz.distance import Indel

    return Indel


def similarity(a: str, b: str) -> float:
    """The word-level similarity (0 to 1) of two *normalised* texts when it reaches
    :data:`SIMILARITY_LIMIT`, else 0.0 (the cheap upper bounds stop early).

    The server's index of earlier rationales (``server/rationales.py``) relies on this being
    difflib's ``ratio`` over ``text.split()``: 2·matches / (n + m) words.
    """
    if not a or not b:
        return 0.0
    words_a, words_b = a.split(), b.split()
    # An exact upper bound, in C: difflib's matches are a common subsequence, so its ratio is
    # at most 2·LCS / (n + m), the Indel similarity (a margin below the limit for rounding).
    if not _indel().normalized_similarity(words_a, words_b, score_cutoff=SIMILARITY_LIMIT - 1e-9):
        return 0.0
    matcher = SequenceMatcher(None, words_a, words_b, autojunk=False)
    if matcher.real_quick_ratio() >= SIMILARITY_LIMIT and matcher.quick_ratio() >= SIMILARITY_LIMIT:
        ratio = matcher.ratio()
        if ratio >= SIMILARITY_LIMIT:
            return ratio
    return 0.0
