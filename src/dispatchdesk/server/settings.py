"""Settings of the reference server, injected everywhere (clock and policy included)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from dispatchdesk.domain.clock import Clock, SystemClock
from dispatchdesk.domain.grades import DEFAULT_POLICY, GradePolicy
from dispatchdesk.domain.history import DEFAULT_HISTORY_YEARS, history_years_problem
from dispatchdesk.domain.rationale import TEMPLATES
from dispatchdesk.domain.reference import LONDON_LISTS, ReferenceLists
from dispatchdesk.domain.tasks import DEFAULT_TASK_POLICY, TaskPolicy
from dispatchdesk.domain.warnings import DEFAULT_WARNING_POLICY, WarningPolicy

#: The sync contract promises a heartbeat at least this often.
MAX_HEARTBEAT_SECONDS = 15.0


@dataclass
class ServerSettings:
    """Where the server keeps its data, where it listens, and the rules it applies.

    ``db_url`` is an SQLAlchemy URL: ``sqlite:///path/to/file.db`` or
    ``postgresql+psycopg://user@host:port/db``.
    """

    db_url: str
    host: str = "127.0.0.1"
    port: int = 8700
    #: Seconds between SSE heartbeat comments (at most 15).
    heartbeat_seconds: float = 10.0
    #: Change-log rows kept; older ones are pruned and a resume from before them gets 410.
    #: Pruned a step of 1% at a time, so the log holds up to 1% more than this.
    change_retention: int = 100_000
    policy: GradePolicy = DEFAULT_POLICY
    #: Order expiry windows, the scheme length limit, review and escalation times.
    warning_policy: WarningPolicy = DEFAULT_WARNING_POLICY
    #: The boroughs and incident types accepted (sent in the snapshot); a value outside them
    #: is refused. An empty list accepts any value.
    reference_lists: ReferenceLists = LONDON_LISTS
    token_ttl: timedelta = timedelta(hours=12)
    clock: Clock = field(default_factory=SystemClock)
    #: How long a command's first result is kept for replay by its Idempotency-Key. Clients
    #: must not replay a command older than this (the outbox's maximum age is far shorter).
    idempotency_retention: timedelta = timedelta(days=30)
    #: How often an SSE stream re-reads the log on PostgreSQL, where other nodes may write.
    poll_seconds: float = 1.0
    #: An owed incident (a unit was diverted away) with no unit assigned for this long
    #: escalates to supervisors.
    owed_escalation: timedelta = timedelta(minutes=10)
    #: How often the server looks for owed incidents due to escalate (reads check too).
    sweep_seconds: float = 5.0
    #: Every rationale and reason accepted in this window is compared with a new one, which
    #: is refused when near-identical to any of them.
    rationale_lookback: timedelta = timedelta(days=730)
    #: Stock phrases: a rationale or reason near-identical to one of these is refused (422).
    rationale_templates: tuple[str, ...] = TEMPLATES
    #: Which incident types get tasks for the attending officers (informant contact, the
    #: domestic-abuse policy's actions), and when open ones are overdue (sent in the snapshot).
    task_policy: TaskPolicy = DEFAULT_TASK_POLICY
    #: History (``/history``) looks back this many years (sent in the snapshot); at least 5.
    #: Incidents are never purged (so every one younger than this is kept).
    history_years: int = DEFAULT_HISTORY_YEARS

    #: A request body larger than this is refused (413) before it is read.
    max_body_bytes: int = 1024 * 1024
    #: Sign-in throttle: in any such window, a user name with this many failed sign-ins, or
    #: a client address with this many, is refused (429 with Retry-After) until the oldest
    #: failure leaves the window (so a real user is never locked out for good).
    sign_in_window: timedelta = timedelta(minutes=5)
    sign_in_failures_per_user: int = 10
    sign_in_failures_per_address: int = 50
    #: TLS: serve HTTPS with this certificate chain and private key (PEM files).
    certfile: str | None = None
    keyfile: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat_seconds <= MAX_HEARTBEAT_SECONDS:
            raise ValueError(
                f"heartbeat_seconds must be more than 0 and at most {MAX_HEARTBEAT_SECONDS:g}"
            )
        if self.change_retention < 1:
            raise ValueError("change_retention must be at least 1")
        if self.token_ttl <= timedelta(0):
            raise ValueError("token_ttl must be positive")
        if self.idempotency_retention <= timedelta(0):
            raise ValueError("idempotency_retention must be positive")
        if self.poll_seconds <= 0:
            raise ValueError("poll_seconds must be positive")
        if self.owed_escalation <= timedelta(0):
            raise ValueError("owed_escalation must be positive")
        if self.sweep_seconds <= 0:
            raise ValueError("sweep_seconds must be positive")
        if self.rationale_lookback <= timedelta(0):
            raise ValueError("rationale_lookback must be positive")
        if any(not t.strip() for t in self.rationale_templates):
            raise ValueError("rationale_templates must not hold a blank phrase")
        if (problem := history_years_problem(self.history_years)) is not None:
            raise ValueError(problem)
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")
        if self.sign_in_window <= timedelta(0):
            raise ValueError("sign_in_window must be positive")
        if min(self.sign_in_failures_per_user, self.sign_in_failures_per_address) < 1:
            raise ValueError("sign-in failure limits must be at least 1")
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("give both certfile and keyfile to serve HTTPS, or neither")
