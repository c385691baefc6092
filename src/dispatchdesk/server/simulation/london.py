"""Plausible London addresses for the simulator and the demo: boroughs, postcode districts,
streets with USRNs, houses and flats in blocks with UPRNs and parent UPRNs, and coordinates.

The data is made up but shaped like the real thing (AddressBase-style 12-digit UPRNs,
8-digit USRNs, real borough names and the postcode districts they contain).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# borough: (postcode districts, (lat, lon) centre, streets)
BOROUGHS: dict[str, tuple[tuple[str, ...], tuple[float, float], tuple[str, ...]]] = {
    "Westminster": (
        ("SW1A", "SW1P", "W1D", "W2"),
        (51.4975, -0.1357),
        ("Horseferry Road", "Marsham Street", "Edgware Road", "Greek Street"),
    ),
    "Camden": (
        ("NW1", "NW5", "WC1H"),
        (51.5290, -0.1255),
        ("Kentish Town Road", "Camden High Street", "Prince of Wales Road", "Malden Road"),
    ),
    "Islington": (
        ("N1", "N7", "N19"),
        (51.5416, -0.1022),
        ("Holloway Road", "Essex Road", "Caledonian Road", "Junction Road"),
    ),
    "Hackney": (
        ("E8", "E5", "N16"),
        (51.5450, -0.0553),
        ("Mare Street", "Kingsland Road", "Lower Clapton Road", "Stoke Newington Road"),
    ),
    "Tower Hamlets": (
        ("E1", "E3", "E14"),
        (51.5203, -0.0293),
        ("Commercial Road", "Roman Road", "Burdett Road", "Cable Street"),
    ),
    "Newham": (
        ("E6", "E7", "E13", "E15"),
        (51.5255, 0.0352),
        ("Barking Road", "Romford Road", "High Street North", "Plashet Grove"),
    ),
    "Southwark": (
        ("SE1", "SE5", "SE15"),
        (51.5035, -0.0804),
        ("Walworth Road", "Old Kent Road", "Rye Lane", "Camberwell Church Street"),
    ),
    "Lambeth": (
        ("SW2", "SW9", "SE11"),
        (51.4607, -0.1163),
        ("Brixton Hill", "Coldharbour Lane", "Kennington Road", "Acre Lane"),
    ),
    "Lewisham": (
        ("SE4", "SE6", "SE13"),
        (51.4452, -0.0209),
        ("Lewisham High Street", "Rushey Green", "Brockley Road", "Lee High Road"),
    ),
    "Croydon": (
        ("CR0", "CR7", "SE25"),
        (51.3714, -0.0977),
        ("London Road", "Whitehorse Road", "Brigstock Road", "Portland Road"),
    ),
    "Brent": (
        ("NW10", "HA9", "NW2"),
        (51.5588, -0.2817),
        ("Harlesden High Street", "Ealing Road", "Church Road", "Willesden Lane"),
    ),
    "Ealing": (
        ("W5", "W13", "UB1"),
        (51.5130, -0.3089),
        ("Uxbridge Road", "The Broadway", "South Road", "Northfield Avenue"),
    ),
    "Haringey": (
        ("N15", "N17", "N22"),
        (51.5906, -0.1110),
        ("High Road", "West Green Road", "Lordship Lane", "Green Lanes"),
    ),
    "Enfield": (
        ("EN1", "EN3", "N9"),
        (51.6538, -0.0799),
        ("Hertford Road", "Fore Street", "Church Street", "Southbury Road"),
    ),
    "Barnet": (
        ("N12", "NW4", "EN5"),
        (51.6252, -0.1517),
        ("Ballards Lane", "Brent Street", "High Street", "Station Road"),
    ),
    "Greenwich": (
        ("SE10", "SE18", "SE9"),
        (51.4892, 0.0648),
        ("Woolwich Road", "Powis Street", "Eltham High Street", "Trafalgar Road"),
    ),
}

#: The Met's two-letter borough codes, the first letters of a unit's callsign ("CW21").
BOROUGH_CODES: dict[str, str] = {
    "Westminster": "CW",
    "Camden": "EK",
    "Islington": "NI",
    "Hackney": "GH",
    "Tower Hamlets": "HT",
    "Newham": "KF",
    "Southwark": "MD",
    "Lambeth": "LX",
    "Lewisham": "PL",
    "Croydon": "ZD",
    "Brent": "QK",
    "Ealing": "XH",
    "Haringey": "YR",
    "Enfield": "YE",
    "Barnet": "SX",
    "Greenwich": "RG",
}

BLOCK_NAMES = (
    "Cedar Court",
    "Wren House",
    "Falcon Point",
    "Mulberry Court",
    "Shelley House",
    "Aspen Tower",
    "Keats House",
    "Heron Court",
)

_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass(frozen=True)
class Address:
    address: str
    postcode: str
    borough: str
    uprn: str
    parent_uprn: str | None
    usrn: str
    lat: float
    lon: float

    def as_location(self) -> dict[str, object]:
        return {
            "address": self.address,
            "postcode": self.postcode,
            "borough": self.borough,
            "uprn": self.uprn,
            "parent_uprn": self.parent_uprn,
            "usrn": self.usrn,
            "lat": round(self.lat, 6),
            "lon": round(self.lon, 6),
        }


def near(rng: random.Random, borough: str) -> tuple[float, float]:
    """A point within a couple of kilometres of the borough's centre (a unit on patrol)."""
    lat, lon = BOROUGHS[borough][1]
    return round(lat + rng.uniform(-0.015, 0.015), 6), round(lon + rng.uniform(-0.022, 0.022), 6)


def block_of(location: dict[str, object]) -> dict[str, object] | None:
    """The block a flat is in, as a location of its own (the block's UPRN, no parent), or
    None for a house: a marker on the block shows for every flat in it."""
    parent = location.get("parent_uprn")
    if not parent:
        return None
    address = str(location["address"])
    _flat, _sep, rest = address.partition(", ")
    return {**location, "address": rest or address, "uprn": parent, "parent_uprn": None}


def _street_ids(borough: str, street: str) -> tuple[int, int]:
    """Stable per-street numbers (USRN base, UPRN base) that do not depend on hash seeds."""
    names = sorted(BOROUGHS)
    b = names.index(borough)
    s = BOROUGHS[borough][2].index(street)
    return 21_000_000 + b * 100 + s, 100_021_000_000 + (b * 100 + s) * 10_000


def random_address(rng: random.Random, borough: str | None = None) -> Address:
    """A house, or a flat in a block (then ``parent_uprn`` is the block's UPRN)."""
    borough = borough or rng.choice(sorted(BOROUGHS))
    districts, (lat, lon), streets = BOROUGHS[borough]
    street = rng.choice(streets)
    usrn, uprn_base = _street_ids(borough, street)
    number = rng.randint(1, 240)
    district = rng.choice(districts)
    postcode = (
        f"{district} {number % 9 + 1}"
        f"{_INWARD_LETTERS[number % 20]}{_INWARD_LETTERS[(number * 7) % 20]}"
    )
    lat += rng.uniform(-0.012, 0.012)
    lon += rng.uniform(-0.018, 0.018)
    house_uprn = uprn_base + number * 20
    if rng.random() < 0.35:
        block = BLOCK_NAMES[number % len(BLOCK_NAMES)]
        flat = rng.randint(1, 18)
        return Address(
            address=f"Flat {flat}, {block}, {number} {street}, London",
            postcode=postcode,
            borough=borough,
            uprn=str(house_uprn + flat),
            parent_uprn=str(house_uprn),
            usrn=str(usrn),
            lat=lat,
            lon=lon,
        )
    return Address(
        address=f"{number} {street}, London",
        postcode=postcode,
        borough=borough,
        uprn=str(house_uprn),
        parent_uprn=None,
        usrn=str(usrn),
        lat=lat,
        lon=lon,
    )
