"""Everything random about a simulated shift, from one seed: the calls (grades, types,
callers, addresses), attendance times, the fleet's units, divert reasons and closing
rationales. No I/O: the lifecycle planner draws from it, the simulator and the demo's history
execute what it draws.
"""

from __future__ import annotations

import random
from typing import Any

from dispatchdesk.server.simulation.london import (
    BOROUGH_CODES,
    BOROUGHS,
    Address,
    near,
    random_address,
)

GRADE_WEIGHTS = {"I": 30, "S": 40, "E": 20, "R": 10}

# Incident types by grade, with the summary a call handler would write.
TYPES: dict[str, tuple[tuple[str, str], ...]] = {
    "I": (
        ("Domestic", "Caller reports partner shouting and threatening her, children present."),
        ("Assault", "Male assaulted outside premises, bleeding from head, suspect still nearby."),
        ("Robbery", "Phone snatched at knifepoint, suspect ran towards the station."),
        ("RTC", "Two-car collision, one driver trapped, LAS requested."),
        ("Concern for welfare", "Neighbour heard screaming then silence from next door."),
        ("Burglary", "Intruders inside the house now, caller hiding upstairs."),
    ),
    "S": (
        ("Domestic", "Ex-partner turned up at the address earlier, has left, caller scared."),
        ("Concern for welfare", "Elderly neighbour not seen for three days, post piling up."),
        ("Burglary", "Came home to find back door forced, jewellery missing."),
        ("Missing person", "16-year-old did not come home from school, phone off."),
        ("ASB", "Group of youths throwing stones at windows for the past hour."),
        ("Theft", "Shoplifter detained by security, being abusive."),
    ),
    "E": (
        ("Burglary", "Shed broken into overnight, tools taken, no suspects."),
        ("Theft", "Bicycle stolen from communal hallway last week."),
        ("Criminal damage", "Car keyed overnight on driveway."),
        ("ASB", "Ongoing noise from flat above, wants officer to visit."),
        ("Fraud", "Elderly caller lost savings to a phone scam."),
    ),
    "R": (
        ("Lost property", "Caller lost wallet on the bus, wants a reference number."),
        ("Civil dispute", "Dispute with landlord over deposit."),
        ("Advice", "Asking whether a neighbour's CCTV may face their garden."),
    ),
}

OUTCOMES = (
    "suspect arrested for assault and taken to custody",
    "victim safeguarded and referred to the IDVA service",
    "no offences disclosed after speaking to all parties separately",
    "crime report raised and house-to-house enquiries started",
    "missing person found safe and returned home",
    "vehicle recovered and LAS took the injured driver to hospital",
    "area searched with negative result, CCTV requested from the shop",
    "caller given crime number and victim care contact",
)
CHECKS = (
    "PNC and previous calls at the address checked",
    "DASH risk assessment completed as {risk}",
    "body-worn video recorded throughout",
    "children at the address seen and spoken to",
    "neighbours at numbers {n1} and {n2} spoken to",
    "statement taken from the caller",
)
RISKS = ("standard", "medium", "high")
#: What the attending officers report for each task before a close (no random draw, so a
#: seeded run stays the same whether or not an incident has tasks).
TASK_OUTCOMES = {
    "CONTACT_INFORMANT": "Informant ({detail}) called back by the attending officer; account "
    "matches the call",
    "CHECK_LINKED": "Linked incidents read; none changes the risk at {address}",
    "HISTORY_CHECK": "History of {address} and the people named read; earlier calls noted in "
    "the risk assessment",
    "HOUSE_TO_HOUSE": "Neighbours either side of {address} spoken to; nothing further seen or "
    "heard",
    "CONTACT_REPORTING_PERSON": "Reporting person seen at {address}; safety advice given",
}
UNIT_KINDS = (("IRV", 6), ("Area car", 2), ("Van", 2), ("Dog", 1))
DIVERT_REASONS = (
    "nearest unit to an I-grade {type} in progress",
    "only unit able to reach the I-grade {type} inside the target",
    "I-grade {type} with risk to life, S-grade call can wait for the next unit",
)
#: How often a new call comes from an address with a scheme or an order on it.
MARKED_CHANCE = 0.04
CALLERS = (
    "A. Okafor",
    "J. Smith",
    "P. Kowalski",
    "S. Begum",
    "M. Brown",
    "T. Nguyen",
    "L. Williams",
    "R. Patel",
    "K. O'Brien",
    "D. Mensah",
)


class Scenario:
    """Everything random about a run, from one seed; no I/O, so it is testable on its own."""

    def __init__(
        self,
        seed: int | None = None,
        marked: list[dict[str, Any]] | None = None,
        marked_chance: float = MARKED_CHANCE,
    ) -> None:
        self.rng = random.Random(seed)
        #: Locations with a scheme or an order on them: a call now and then comes from one,
        #: so warnings pop on new incidents as well as on the queue opened at the start.
        self.marked = list(marked or [])
        self.marked_chance = marked_chance

    def next_gap(self, rate_per_minute: float) -> float:
        """Seconds until the next call: a Poisson process at the given rate."""
        return self.rng.expovariate(rate_per_minute / 60.0)

    def new_incident(self) -> dict[str, Any]:
        grade = self.rng.choices(list(GRADE_WEIGHTS), weights=list(GRADE_WEIGHTS.values()))[0]
        kind, summary = self.rng.choice(TYPES[grade])
        location = self._location()
        anonymous = self.rng.random() < 0.05
        caller = (
            {"anonymous": True, "anonymity_requested": True}
            if anonymous
            else {
                "name": self.rng.choice(CALLERS),
                "phone": f"07{self.rng.randint(100, 999)} {self.rng.randint(100000, 999999)}",
                "anonymous": False,
            }
        )
        return {
            "grade": grade,
            "type": kind,
            "summary": summary,
            "location": location,
            "caller": caller,
        }

    def _location(self) -> dict[str, Any]:
        # The draw for a marked address is made only when there are some, so a run without
        # markers is the same as before for the same seed.
        if self.marked and self.rng.random() < self.marked_chance:
            return dict(self.rng.choice(self.marked))
        address: Address = random_address(self.rng)
        return address.as_location()

    def attendance_delays(self, grade: str) -> tuple[float, float, float] | None:
        """Seconds after creation until (assigned, arrived, closed); None: never attended."""
        if grade == "R":
            return None
        target = {"I": 15 * 60, "S": 60 * 60, "E": 4 * 3600}[grade]
        # Most arrive inside the target; a tail arrives late (S breaches of hours happen).
        arrive = target * self.rng.lognormvariate(-0.45, 0.45)
        assign = arrive * self.rng.uniform(0.15, 0.6)
        close = arrive + self.rng.uniform(15, 90) * 60
        return assign, arrive, close

    def fleet(self, n: int) -> list[dict[str, Any]]:
        """``n`` unit create requests, spread over the boroughs, mostly IRVs: callsigns are the
        Met's borough code and a number (``CW11``, ``HT14``), positions near the borough."""
        boroughs = sorted(BOROUGHS)
        kinds = [k for k, _ in UNIT_KINDS]
        weights = [w for _, w in UNIT_KINDS]
        out = []
        for i in range(n):
            borough = boroughs[i % len(boroughs)]
            lat, lon = near(self.rng, borough)
            out.append(
                {
                    "callsign": f"{BOROUGH_CODES[borough]}{11 + i // len(boroughs)}",
                    "kind": self.rng.choices(kinds, weights=weights)[0],
                    "borough": borough,
                    "lat": lat,
                    "lon": lon,
                }
            )
        return out

    def divert_reason(self, incident: dict[str, Any]) -> str:
        """Why a unit is diverted to ``incident``, naming it (the server refuses a reason
        copied from any earlier one)."""
        reason = self.rng.choice(DIVERT_REASONS).format(type=incident["type"].lower())
        return f"{reason}: {incident['location']['address']}, {incident['ref']}"

    @staticmethod
    def task_outcome(incident: dict[str, Any], task: dict[str, Any]) -> str:
        """What the attending officers found for ``task`` (a task of the wire's shape)."""
        return TASK_OUTCOMES[task["kind"]].format(
            detail=task.get("detail") or "", address=incident["location"]["address"]
        )

    def rationale(self, incident: dict[str, Any]) -> str:
        """A closing rationale specific to the incident, never a copied template."""
        checks = self.rng.sample(CHECKS, 2)
        text = "; ".join(
            c.format(
                risk=self.rng.choice(RISKS),
                n1=self.rng.randint(1, 99),
                n2=self.rng.randint(100, 199),
            )
            for c in checks
        )
        return (
            f"Attended {incident['location']['address']} ({incident['type'].lower()}), "
            f"{self.rng.choice(OUTCOMES)}; {text}. Ref {incident['ref']}."
        )
