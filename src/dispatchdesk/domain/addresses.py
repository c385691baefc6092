"""Addresses as call handlers type them: split into flat, house and street proper (pure).

A handler types "30 acre lane london", "Flat 2 30 Acre Ln SW2 5SA", "2/30 ACRE LANE, BRIXTON"
or "30a Acre Lane, London SW2" as readily as "30 Acre Lane, London". :func:`address_parts`
reads them all the same way:

* case and punctuation do not matter, commas are optional;
* a UK postcode anywhere on the line (full, any case, with or without its space) is pulled out;
  so is an outward code alone ("SW2") after the house number, when its area is a London one;
* "Flat 2", "Apartment 2", "2/30" name the flat; "30a" and "30 A" are house 30a;
* a town, "London" or a London district after the street is dropped ("acre lane brixton
  london" is "acre lane"), but never the whole street ("30 Brixton Hill" keeps it);
* abbreviations are spelt out (Rd, St, Ln, Ave/Av, Gr, Cres, Dr, Pl, Sq, Ct, Gdns, Ter/Terr,
  Cl, Hl, Pk, Mt...); "St" is Saint as the first word of a street with more words after it
  ("St John's Road"), otherwise Street ("High St").

Streets are compared by :func:`street_similar`: the same street; the same name when one side
gives no street type ("30 acre london" against "Acre Lane"); or one typo (an edit or a swap of
neighbouring letters) that keeps the policy's similarity. Two street types that differ are two
streets ("Acre Lane" is not "Acre Road").
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from sys import intern

_ABBREV = {
    "rd": "road",
    "st": "street",
    "str": "street",
    "ln": "lane",
    "ave": "avenue",
    "av": "avenue",
    "avn": "avenue",
    "gr": "grove",
    "grv": "grove",
    "cres": "crescent",
    "cresc": "crescent",
    "cr": "crescent",
    "dr": "drive",
    "drv": "drive",
    "pl": "place",
    "sq": "square",
    "ct": "court",
    "crt": "court",
    "gdns": "gardens",
    "gdn": "gardens",
    "gds": "gardens",
    "ter": "terrace",
    "terr": "terrace",
    "tce": "terrace",
    "cl": "close",
    "hl": "hill",
    "pk": "park",
    "mt": "mount",
    "wy": "way",
    "wk": "walk",
    "pde": "parade",
    "grn": "green",
    "sth": "south",
    "nth": "north",
    "upr": "upper",
    "lwr": "lower",
    "gt": "great",
    "bdwy": "broadway",
    "ho": "house",
    "hse": "house",
    "mws": "mews",
    "est": "estate",
    "app": "approach",
    "emb": "embankment",
}
#: Abbreviations only as the last word of a street ("Acre La"; but "La Plata Road").
_LAST_ABBREV = {"la": "lane"}
#: Words that end a street's name and say what kind of street it is.
STREET_TYPES = frozenset(
    {
        "road",
        "street",
        "lane",
        "avenue",
        "grove",
        "crescent",
        "drive",
        "place",
        "square",
        "court",
        "gardens",
        "close",
        "terrace",
        "hill",
        "park",
        "way",
        "walk",
        "row",
        "mews",
        "rise",
        "vale",
        "view",
        "green",
        "parade",
        "gate",
        "yard",
        "passage",
        "wharf",
        "path",
        "broadway",
        "approach",
        "circus",
        "embankment",
        "quay",
        "boulevard",
        "common",
        "market",
    }
)
_FLAT_WORDS = frozenset({"flat", "apartment", "apt", "unit", "room", "maisonette"})

#: Towns, London boroughs and districts a handler may type after the street (lower case).
#: Dropped from the end of a street, never the whole of it.
LONDON_LOCALITIES = frozenset(
    {
        "london",
        "greater london",
        "uk",
        "united kingdom",
        "england",
        "gb",
        "north london",
        "south london",
        "east london",
        "west london",
        "central london",
        "city of london",
        "the city",
        "city of westminster",
        # the boroughs
        "barking",
        "dagenham",
        "barking and dagenham",
        "barnet",
        "bexley",
        "brent",
        "bromley",
        "camden",
        "croydon",
        "ealing",
        "enfield",
        "greenwich",
        "hackney",
        "hammersmith",
        "fulham",
        "hammersmith and fulham",
        "haringey",
        "harrow",
        "havering",
        "hillingdon",
        "hounslow",
        "islington",
        "kensington",
        "chelsea",
        "kensington and chelsea",
        "kingston",
        "kingston upon thames",
        "lambeth",
        "lewisham",
        "merton",
        "newham",
        "redbridge",
        "richmond",
        "richmond upon thames",
        "southwark",
        "sutton",
        "tower hamlets",
        "waltham forest",
        "wandsworth",
        "westminster",
        # districts and towns
        "acton",
        "balham",
        "barnes",
        "battersea",
        "bayswater",
        "beckenham",
        "bermondsey",
        "bethnal green",
        "bexleyheath",
        "blackheath",
        "bloomsbury",
        "bow",
        "brixton",
        "brockley",
        "camberwell",
        "canary wharf",
        "catford",
        "chingford",
        "chiswick",
        "clapham",
        "clapton",
        "cricklewood",
        "dalston",
        "deptford",
        "dulwich",
        "east dulwich",
        "edmonton",
        "eltham",
        "erith",
        "finchley",
        "finsbury",
        "finsbury park",
        "forest gate",
        "forest hill",
        "hampstead",
        "harlesden",
        "hendon",
        "herne hill",
        "highbury",
        "highgate",
        "holborn",
        "holloway",
        "homerton",
        "hornsey",
        "hoxton",
        "ilford",
        "isle of dogs",
        "kennington",
        "kentish town",
        "kilburn",
        "leyton",
        "leytonstone",
        "limehouse",
        "marylebone",
        "mayfair",
        "mile end",
        "mitcham",
        "morden",
        "muswell hill",
        "new cross",
        "norwood",
        "west norwood",
        "south norwood",
        "upper norwood",
        "notting hill",
        "orpington",
        "paddington",
        "peckham",
        "pimlico",
        "plaistow",
        "poplar",
        "putney",
        "romford",
        "rotherhithe",
        "shepherds bush",
        "shoreditch",
        "soho",
        "southall",
        "stepney",
        "stockwell",
        "stoke newington",
        "stratford",
        "streatham",
        "streatham hill",
        "sydenham",
        "thamesmead",
        "thornton heath",
        "tooting",
        "tottenham",
        "twickenham",
        "upton park",
        "uxbridge",
        "vauxhall",
        "walthamstow",
        "walworth",
        "wapping",
        "wembley",
        "whitechapel",
        "willesden",
        "wimbledon",
        "wood green",
        "woolwich",
        "west ham",
        "east ham",
        "canning town",
        "crystal palace",
        "lee",
        "hither green",
        "brixton hill",
        "tulse hill",
        "clapham common",
        "clapham junction",
        "elephant and castle",
    }
)
#: Not one street is called just this: an address that names no more is without a street.
_NO_STREET = frozenset(
    {
        ("london",),
        ("greater", "london"),
        ("uk",),
        ("united", "kingdom"),
        ("england",),
        ("gb",),
    }
)
_LOCALITY_WORDS = frozenset(tuple(p.split()) for p in LONDON_LOCALITIES)
#: The most words of a locality ending with each word: a street ending otherwise has none
#: to drop.
_LOCALITY_ENDS: dict[str, int] = {}
for _p in _LOCALITY_WORDS:
    _LOCALITY_ENDS[_p[-1]] = max(len(_p), _LOCALITY_ENDS.get(_p[-1], 0))

#: Postcode areas in and around London: an outward code typed alone ("SW2") is read as one
#: only in these (elsewhere "A406" would be a postcode).
LONDON_POSTCODE_AREAS = frozenset(
    {
        "e",
        "ec",
        "n",
        "nw",
        "se",
        "sw",
        "w",
        "wc",
        "br",
        "cr",
        "da",
        "en",
        "ha",
        "ig",
        "kt",
        "rm",
        "sm",
        "tw",
        "ub",
        "wd",
        "cm",
        "al",
        "sl",
    }
)

_POSTCODE_RE = re.compile(r"\b[a-z]{1,2}[0-9][a-z0-9]? ?[0-9][a-z]{2}\b")
_OUTWARD_WORD_RE = re.compile(r"^([a-z]{1,2})[0-9][a-z0-9]?$")
#: "2/30" (flat 2 at number 30), "flat 2/30" too.
_FLAT_SLASH_RE = re.compile(
    r"\b(?:(?:flat|apartment|apt|unit)\s*)?([0-9]+[a-z]?|[a-z])\s*/\s*([0-9]+[a-z]?)\b"
)
#: "2nd floor": no house number.
_ORDINAL_RE = re.compile(r"^[0-9]+(?:st|nd|rd|th)$")
_WORD_RE = re.compile(r"[a-z0-9]+")
#: Cheap tests of a whole line before looking word by word.
_FLAT_WORD_RE = re.compile(r"\b(?:flat|apartment|apt|unit|room|maisonette)\b")
_OUTWARD_ANY_RE = re.compile(r"\b[a-z]{1,2}[0-9][a-z0-9]?\b")
_APOSTROPHES = str.maketrans("", "", "'’`")


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.casefold().translate(_APOSTROPHES))


def _spelt_out(text: str) -> str:
    """Words of lower-case ``text``, abbreviations spelt out ("st" as street)."""
    return " ".join([_ABBREV.get(w, w) for w in _words(text)])


def normalise_address(address: str) -> str:
    """Lower case, punctuation gone, common abbreviations spelt out, postcode removed."""
    return _spelt_out(_POSTCODE_RE.sub(" ", address.casefold()))


def normalise_postcode(postcode: str | None) -> str | None:
    if not postcode:
        return None
    return postcode.replace(" ", "").upper() or None


_OUTWARD_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_FULL_POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)[0-9][A-Z]{2}$")


def postcode_district(postcode: str | None) -> str | None:
    """The outward code ("N1", "SW1A") of a postcode, or of an outward code given alone;
    ``None`` when missing or not readable as a UK postcode."""
    return read_postcode(postcode)[1]


def full_postcode(postcode: str | None) -> str | None:
    """A readable full postcode, upper case without spaces ("N19GU"); else ``None`` (an
    outward code alone, or text that is no postcode)."""
    return read_postcode(postcode)[0]


def read_postcode(postcode: str | None) -> tuple[str | None, str | None]:
    """(:func:`full_postcode`, :func:`postcode_district`) of ``postcode``. Not remembered:
    it takes a microsecond, where a queue's worth of answers held 3 MB (the parsed address
    lines are, :func:`address_parts`)."""
    pc = normalise_postcode(postcode)
    if pc is None:
        return None, None
    # Interned: a postcode is shared by a street's addresses, a district by thousands (an
    # interned string is freed with its last holder).
    pc = intern(pc)
    full = _FULL_POSTCODE_RE.match(pc)
    if full:
        return pc, intern(full.group(1))
    return None, (pc if _OUTWARD_RE.match(pc) else None)


@dataclass(frozen=True, slots=True)
class AddressParts:
    #: "2" for "Flat 2, 10 High Street" or "2/10 High Street"; None when no flat is named.
    flat: str | None
    #: The house number ("10", "10a") or, without one, the house name ("rose cottage").
    house: str | None
    #: The street proper, spelt out: the words after the house number ("acre lane" for "30
    #: Acre Lane, London" and for "30 acre ln brixton london sw2"), or the next comma part
    #: when the house stands alone ("10, High St" or "Rose Cottage, Mill Lane"). Towns,
    #: districts and postcodes after it are left out: a shared "London" made unrelated
    #: streets look alike to the free-text rule.
    street: str
    #: A postcode found on the line, upper case without spaces: full ("SW25SA") or, typed
    #: alone after the house, a London outward code ("SW2").
    postcode: str | None = None


@functools.lru_cache(maxsize=16384)
def address_parts(address: str) -> AddressParts:
    """Split an address line, typed any way a call handler types it (see the module's
    docstring), into flat, house number/name, street proper and postcode. Remembered (a
    queue's worth): the desk asks about the same incidents' addresses again whenever a
    marker changes."""
    text = address.casefold()
    if "'" in text or "’" in text or "`" in text:
        text = text.translate(_APOSTROPHES)  # "john's" is one word
    found = _POSTCODE_RE.search(text)
    postcode = None
    if found is not None:
        postcode = normalise_postcode(found.group(0))
        text = _POSTCODE_RE.sub(",", text)  # in mid-line it ends a part, as a comma would
    if "/" in text:
        text = _FLAT_SLASH_RE.sub(r" flat \1, \2", text)
    parts = [w for w in (_WORD_RE.findall(p) for p in text.split(",")) if w]
    flat = None
    if _FLAT_WORD_RE.search(text):
        flat = _take_flat(parts)
        parts = [p for p in parts if p]
    outward = _OUTWARD_ANY_RE.search(text) is not None
    for i, part in enumerate(parts):
        for j, w in enumerate(part):
            if w[0].isdigit() and not (w[-1].isalpha() and _ORDINAL_RE.match(w)):
                house = w
                k = j + 1
                if k < len(part) and len(part[k]) == 1 and part[k].isalpha():
                    house += part[k]  # "10 a" → "10a"
                    k += 1
                later, district = _without_outward([part[k:], *parts[i + 1 :]], outward)
                street = later[0] or next((p for p in later if p), [])
                return _shared(flat, house, _street(street), postcode or district)
    if not parts:
        return _shared(flat, None, "", postcode)
    later, district = _without_outward(parts[1:], outward)
    street = next((p for p in later if p), [])
    return _shared(flat, _spelt(parts[0]), _street(street), postcode or district)


def _shared(flat: str | None, house: str | None, street: str, postcode: str | None) -> AddressParts:
    """The parts with their words interned: of the queue's worth of addresses remembered,
    many share a house number, a street or a postcode (an interned string is freed with its
    last holder, so nothing is kept longer)."""
    return AddressParts(
        flat and intern(flat),
        house and intern(house),
        intern(street),
        postcode and intern(postcode),
    )


def _take_flat(parts: list[list[str]]) -> str | None:
    """The flat named by the first flat word ("flat 2") of the line, removed from it. Not in
    "first floor flat 30 acre lane": a number followed by a street, with no other number
    after it, is the house."""
    for i, part in enumerate(parts):
        for j in range(len(part) - 1):
            if part[j] in _FLAT_WORDS:
                flat = part[j + 1]
                if (
                    flat[0].isdigit()
                    and j + 2 < len(part)
                    and not any(
                        w[0].isdigit() for p in parts[i:] for w in (p[j + 2 :] if p is part else p)
                    )
                ):
                    return None
                del part[j : j + 2]
                return flat
    return None


def _without_outward(
    parts: list[list[str]], any_on_the_line: bool
) -> tuple[list[list[str]], str | None]:
    """``parts`` without London outward codes ("sw2"); the first one found, upper case.
    ``any_on_the_line``: False when the line has nothing that looks like one."""
    if not any_on_the_line:
        return parts, None
    found: str | None = None
    out = []
    for part in parts:
        kept = []
        for w in part:
            m = _OUTWARD_WORD_RE.match(w) if len(w) <= 4 and not w.isalpha() else None
            if m and m.group(1) in LONDON_POSTCODE_AREAS:
                found = found or w.upper()
            else:
                kept.append(w)
        out.append(kept)
    return out, found


def _street(words: list[str]) -> str:
    """The street proper of the words after the house: trailing towns and districts dropped
    (never every word), abbreviations spelt out, "st" first in a longer street as "saint"."""
    words = list(words)
    while len(words) > 1:
        # The longest locality the words end with, leaving a word at least.
        n = min(_LOCALITY_ENDS.get(words[-1], 0), len(words) - 1)
        while n and tuple(words[-n:]) not in _LOCALITY_WORDS:
            n -= 1
        if not n:
            break
        del words[-n:]
    return "" if tuple(words) in _NO_STREET else _spelt(words)


def _spelt(words: list[str]) -> str:
    """Abbreviations spelt out; "st" first of several words as "saint" ("St John's Road")."""
    spelt = [_ABBREV.get(w, w) for w in words]
    if len(words) > 1:
        if words[0] == "st":
            spelt[0] = "saint"
        spelt[-1] = _LAST_ABBREV.get(spelt[-1], spelt[-1])
    return " ".join(spelt)


def street_type(street: str) -> tuple[str, str | None]:
    """(name, type) of a street proper: ("acre", "lane") for "acre lane"; (street, None) when
    its last word is no street type or it is one word ("broadway", "high street north")."""
    name, _, last = street.rpartition(" ")
    if name and last in STREET_TYPES:
        return name, last
    return street, None


def street_similar(known: str, asked: str, threshold: float) -> bool:
    """Two streets proper that may be the same street (never a blank one):

    * the same street;
    * the same name when one side gives no street type ("acre" and "acre lane");
    * one typo (an edit, or two neighbouring letters swapped) whose difflib ratio reaches
      ``threshold`` ("acer lane" for "acre lane"); but two street types that differ are two
      streets ("acre road" is not "acre lane"), and two typos are another street ("marsh
      street" is not "mare street", though their ratio is 0.87).
    """
    if not known or not asked:
        return False
    if known == asked:
        return True
    known_name, known_type = street_type(known)
    asked_name, asked_type = street_type(asked)
    if known_type is not None and asked_type is not None and known_type != asked_type:
        return False
    if (known_type is None) != (asked_type is None) and known_name == asked_name:
        return True
    return one_typo(known, asked) and street_ratio(known, asked) >= threshold


def street_names_alike(known: str, asked: str, threshold: float) -> bool:
    """The streets' names (their types aside) are the same or one typo apart: what the same
    full postcode and house need ("22 Acacia Rd" for "22 Acacia Avenue" in N1 9GU)."""
    known_name, asked_name = street_type(known)[0], street_type(asked)[0]
    return known_name == asked_name or (
        one_typo(known_name, asked_name) and street_ratio(known_name, asked_name) >= threshold
    )


def one_typo(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one letter inserted, dropped or changed, or two neighbouring
    letters swapped (a Damerau-Levenshtein distance of one; not zero)."""
    la, lb = len(a), len(b)
    if abs(la - lb) > 1 or a == b:
        return False
    i = 0
    shorter = min(la, lb)
    while i < shorter and a[i] == b[i]:
        i += 1
    if la != lb:
        longer, short = (a, b) if la > lb else (b, a)
        return longer[i + 1 :] == short[i:]
    if a[i + 1 :] == b[i + 1 :]:
        return True  # one letter changed
    return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


def street_ratio_reaches(known: str, asked: str, threshold: float) -> bool:
    """``difflib`` ratio of two streets at or above ``threshold`` (the same street always, a
    blank one never): the bound the client's index scans its streets with."""
    if not known or not asked:
        return False
    return known == asked or street_ratio(known, asked) >= threshold


@functools.lru_cache(maxsize=8192)
def street_ratio(known: str, asked: str) -> float:
    # Remembered: a misspelt street comes up against the same few streets lookup after lookup.
    return sequence_ratio(known, asked)


#: From this length of its second string on, difflib drops the second string's most
#: frequent characters before matching (``autojunk``): ``sequence_ratio`` leaves those
#: to difflib.
_AUTOJUNK_FROM = 200


def sequence_ratio(a: str, b: str) -> float:
    """``difflib.SequenceMatcher(None, a, b).ratio()``, the same float, three to four times
    faster on a street (a misspelt street costs a ratio per street one typo from it).

    difflib's matching blocks, found the same way: the longest common block of the two
    ranges (of those, the first in ``a``, then the first in ``b``), then the same again left
    and right of it; the ratio is twice the characters matched over both lengths. Without
    junk (no ``isjunk``, and strings too short for ``autojunk``) difflib's longest block is
    exactly that block, which is found here by ``str.find`` in C: a binary search on its
    length (a common block of length k holds one of every shorter length), each length
    tried from the first start in ``a`` on."""
    if len(b) >= _AUTOJUNK_FROM:
        return difflib.SequenceMatcher(None, a, b).ratio()
    length = len(a) + len(b)
    if not length:
        return 1.0
    matched = 0
    ranges = [(0, len(a), 0, len(b))]
    while ranges:
        alo, ahi, blo, bhi = ranges.pop()
        i, j, k = _longest_block(a, b, alo, ahi, blo, bhi)
        if k:
            matched += k
            if alo < i and blo < j:
                ranges.append((alo, i, blo, j))
            if i + k < ahi and j + k < bhi:
                ranges.append((i + k, ahi, j + k, bhi))
    return 2.0 * matched / length


def _longest_block(a: str, b: str, alo: int, ahi: int, blo: int, bhi: int) -> tuple[int, int, int]:
    """(i, j, k): the longest ``a[i:i+k] == b[j:j+k]`` within ``a[alo:ahi]`` and
    ``b[blo:bhi]``, the least i of those, then the least j (difflib's
    ``find_longest_match`` without junk); (alo, blo, 0) when none."""
    best = (alo, blo, 0)
    lo, hi = 0, min(ahi - alo, bhi - blo)  # lo: a length known to have a block
    find = b.find
    while lo < hi:
        k = (lo + hi + 1) // 2
        for i in range(alo, ahi - k + 1):
            j = find(a[i : i + k], blo, bhi)
            if j >= 0:
                best, lo = (i, j, k), k
                break
        else:
            hi = k - 1
    return best
