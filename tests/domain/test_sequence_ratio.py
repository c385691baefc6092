"""``sequence_ratio``: difflib's ``SequenceMatcher(None, a, b).ratio()``, the same float,
found faster (what ``street_ratio`` computes for the free-text address rule)."""

from __future__ import annotations

import difflib
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatchdesk.domain.addresses import sequence_ratio, street_ratio


def difflib_ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def test_every_pair_of_short_strings_of_few_letters_is_difflibs_ratio() -> None:
    """Few letters make many equally long blocks: difflib's choice among them (the first in
    the first string, then in the second) decides what is matched next to them."""
    for alphabet in ("ab", "ab "):
        words = ["".join(t) for n in range(6) for t in itertools.product(alphabet, repeat=n)]
        for a, b in itertools.product(words, repeat=2):
            assert sequence_ratio(a, b) == difflib_ratio(a, b), (a, b)


def _edited(text: str, edits: list[tuple[int, int, str]]) -> str:
    chars = list(text)
    for op, at, letter in edits:
        i = at % (len(chars) + 1)
        if op == 0 and i < len(chars):
            del chars[i]
        elif op == 1:
            chars.insert(i, letter)
        elif i < len(chars):
            chars[i] = letter
    return "".join(chars)


letters = st.sampled_from(["ab", "abc ", "acdeilnorst ", "abcdefghijklmnopqrstuvwxyz '-"])


@settings(max_examples=400, deadline=None)
@given(data=st.data(), alphabet=letters)
def test_a_string_and_a_few_edits_of_it_or_another_are_difflibs_ratio(
    data: st.DataObject, alphabet: str
) -> None:
    text = st.text(alphabet=alphabet, max_size=40)
    a = data.draw(text)
    edit = st.tuples(st.integers(0, 2), st.integers(0, 60), st.sampled_from(alphabet))
    b = data.draw(st.one_of(text, st.lists(edit, max_size=3).map(lambda e: _edited(a, e))))
    assert sequence_ratio(a, b) == difflib_ratio(a, b)
    assert sequence_ratio(b, a) == difflib_ratio(b, a)


def test_streets_one_typo_apart_and_long_strings_are_difflibs_ratio() -> None:
    pairs = [
        ("acacia road", "acaica road"),
        ("cavendish gardens", "cavendsh gardens"),
        ("saint john's wood road", "saint jhon's wood road"),
        ("", "mare street"),
        ("", ""),
        ("a" * 150 + "b" * 100, "b" * 100 + "a" * 150),  # past difflib's autojunk length
    ]
    for a, b in pairs:
        assert sequence_ratio(a, b) == difflib_ratio(a, b), (a, b)
        assert street_ratio.__wrapped__(a, b) == difflib_ratio(a, b)
