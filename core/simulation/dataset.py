"""A seeded, deterministic sales business: owners, pipelines, accounts, contacts, leads,
deals with stage history, activities and FX rates, over a span of days before an anchor.

The objects are CRM-neutral; each connector's simulator renders them in its CRM's shapes.
``edit_deals`` and ``delete`` change the business later, for incremental-sync tests.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

COUNTRIES = (
    ("United States", "California"),
    ("United States", "New York"),
    ("Spain", "Madrid"),
    ("Germany", "Bavaria"),
    ("United Kingdom", "England"),
    ("France", "Ile-de-France"),
    ("Mexico", "Jalisco"),
)
INDUSTRIES = ("Software", "Retail", "Manufacturing", "Healthcare", "Finance", "Education")
SOURCES = ("Organic search", "Paid search", "Referral", "Email", "Events", "Social")
LOST_REASONS = ("Price", "Timing", "Competitor", "No decision", "Product fit")
DEAL_TYPES = ("NEW_BUSINESS", "NEW_BUSINESS", "NEW_BUSINESS", "UPSELL", "CROSS_SELL", "RENEWAL")
CALL_OUTCOMES = ("CONNECTED", "LEFT_VOICEMAIL", "NO_ANSWER", "BUSY", "WRONG_NUMBER")
MEETING_OUTCOMES = ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED")
#: Outcomes of a meeting that did not take place.
MEETING_NOT_HELD = ("SCHEDULED", "RESCHEDULED", "NO_SHOW", "CANCELED")
ACTIVITY_TYPES = ("CALL", "EMAIL", "MEETING", "NOTE", "TASK")
#: (name, probability, kind) of each open stage, then the won and lost stages.
STAGE_TEMPLATE = (
    ("Appointment scheduled", 0.1, "LEAD_IN"),
    ("Qualified to buy", 0.3, "QUALIFIED"),
    ("Proposal sent", 0.6, "PROPOSAL"),
    ("Negotiation", 0.8, "NEGOTIATION"),
    ("Closed won", 1.0, "WON"),
    ("Closed lost", 0.0, "LOST"),
)
FX_TO_USD = {"USD": 1.0, "EUR": 1.08, "GBP": 1.26, "MXN": 0.055}


@dataclass(slots=True)
class SimUser:
    id: int
    first_name: str
    last_name: str
    email: str
    team_id: int
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class SimTeam:
    id: int
    name: str


@dataclass(slots=True)
class SimStage:
    id: int
    pipeline_id: int
    name: str
    order: int
    probability: float
    kind: str

    @property
    def is_closed(self) -> bool:
        return self.kind in ("WON", "LOST")


@dataclass(slots=True)
class SimPipeline:
    id: int
    name: str
    order: int
    stages: list[SimStage]


@dataclass(slots=True)
class SimAccount:
    id: int
    name: str
    country: str
    region: str
    industry: str
    owner_id: int
    source: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


@dataclass(slots=True)
class SimContact:
    id: int
    first_name: str
    last_name: str
    email: str
    account_id: int | None
    owner_id: int
    source: str
    created_at: datetime
    updated_at: datetime
    #: lifecycle stage -> entry time, in order: lead, marketingqualifiedlead, ...
    lifecycle: dict[str, datetime] = field(default_factory=dict)
    deleted_at: datetime | None = None

    @property
    def lifecycle_stage(self) -> str:
        return next(reversed(self.lifecycle)) if self.lifecycle else "subscriber"


@dataclass(slots=True)
class SimLead:
    id: int
    title: str
    first_name: str
    last_name: str
    company: str
    email: str
    owner_id: int
    source: str
    status: str
    created_at: datetime
    updated_at: datetime
    converted_at: datetime | None = None
    converted_deal_id: int | None = None
    converted_account_id: int | None = None
    converted_contact_id: int | None = None
    deleted_at: datetime | None = None


@dataclass(slots=True)
class SimDeal:
    id: int
    name: str
    amount: Decimal
    currency: str
    pipeline_id: int
    owner_id: int
    account_id: int | None
    contact_id: int | None
    source: str
    deal_type: str
    created_at: datetime
    updated_at: datetime
    #: (stage id, entered at), in order; the last one is the current stage.
    history: list[tuple[int, datetime]]
    status: str = "OPEN"
    closed_at: datetime | None = None
    lost_reason: str | None = None
    expected_close: date | None = None
    recurring_amount: Decimal | None = None
    cost: Decimal | None = None
    lead_id: int | None = None
    deleted_at: datetime | None = None

    @property
    def stage_id(self) -> int:
        return self.history[-1][0]


@dataclass(slots=True)
class SimActivity:
    id: int
    type: str
    subject: str
    owner_id: int
    deal_id: int | None
    contact_id: int | None
    account_id: int | None
    lead_id: int | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None
    done_at: datetime | None
    outcome: str | None = None
    direction: str | None = None
    deleted_at: datetime | None = None

    @property
    def meeting_outcome(self) -> str:
        """A meeting's outcome as its facts fix it: COMPLETED when held (done), whatever
        outcome was drawn; otherwise the drawn not-held one (SCHEDULED when it drew
        COMPLETED). Every CRM's simulator renders this one."""
        if self.done_at is not None:
            return "COMPLETED"
        return self.outcome if self.outcome in MEETING_NOT_HELD else "SCHEDULED"


@dataclass(slots=True)
class SimFxRate:
    currency: str
    day: date
    #: 1 unit of ``currency`` in USD.
    usd: Decimal


@dataclass
class Dataset:
    """The whole business; ids are small positive integers, unique per object type."""

    seed: int
    anchor: datetime
    currency: str
    users: list[SimUser]
    teams: list[SimTeam]
    pipelines: list[SimPipeline]
    accounts: list[SimAccount]
    contacts: list[SimContact]
    leads: list[SimLead]
    deals: list[SimDeal]
    activities: list[SimActivity]
    fx_rates: list[SimFxRate]
    _rng: random.Random = field(repr=False, default_factory=random.Random)

    @property
    def stages(self) -> list[SimStage]:
        return [s for p in self.pipelines for s in p.stages]

    def stage(self, stage_id: int) -> SimStage:
        return next(s for s in self.stages if s.id == stage_id)

    def edit_deals(self, count: int, at: datetime) -> list[SimDeal]:
        """Change the amount of ``count`` live deals, all modified at ``at``."""
        live = [d for d in self.deals if d.deleted_at is None]
        edited = self._rng.sample(live, min(count, len(live)))
        for deal in edited:
            deal.amount = (deal.amount * Decimal("1.10")).quantize(Decimal("0.01"))
            deal.updated_at = at
        return edited

    def delete(
        self, objects: list[SimDeal] | list[SimContact] | list[SimActivity], at: datetime
    ) -> None:
        """Archive / soft-delete objects at ``at`` (they move to the CRM's recycle bin)."""
        for obj in objects:
            obj.deleted_at = at
            obj.updated_at = at


def _ms(value: datetime) -> datetime:
    return value.replace(microsecond=(value.microsecond // 1000) * 1000)


def generate(
    *,
    seed: int = 1,
    deals: int = 1000,
    days: int = 730,
    anchor: datetime | None = None,
    currency: str = "USD",
    activities_per_deal: float = 3.0,
) -> Dataset:
    """A business with about ``deals`` deals created over ``days`` days before ``anchor``."""
    rng = random.Random(seed)
    anchor = _ms(anchor or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    start = anchor - timedelta(days=days)

    def moment(lo: datetime, hi: datetime) -> datetime:
        span = max(1.0, (hi - lo).total_seconds())
        return _ms(lo + timedelta(seconds=rng.uniform(0, span)))

    teams = [SimTeam(id=i + 1, name=n) for i, n in enumerate(("Inbound", "Outbound", "Partners"))]
    n_users = max(4, min(60, deals // 300))
    users = []
    for i in range(n_users):
        first, last = f"Rep{i + 1}", f"Seller{seed}"
        users.append(
            SimUser(
                i + 1,
                first,
                last,
                f"rep{i + 1}@example.com",
                teams[i % len(teams)].id,
                start,
                start,
            )
        )

    pipelines = []
    stage_id = 1
    for p_index, p_name in enumerate(("Sales", "Expansion")):
        stages = []
        for order, (name, prob, kind) in enumerate(STAGE_TEMPLATE):
            stages.append(SimStage(stage_id, p_index + 1, name, order, prob, kind))
            stage_id += 1
        pipelines.append(SimPipeline(p_index + 1, p_name, p_index, stages))

    n_accounts = max(3, deals // 3)
    accounts = []
    for i in range(n_accounts):
        country, region = rng.choice(COUNTRIES)
        created = moment(start - timedelta(days=60), anchor - timedelta(days=1))
        accounts.append(
            SimAccount(
                i + 1,
                f"Company {i + 1}",
                country,
                region,
                rng.choice(INDUSTRIES),
                rng.choice(users).id,
                rng.choice(SOURCES),
                created,
                created,
            )
        )

    contacts: list[SimContact] = []
    for account in accounts:
        for _ in range(rng.choice((1, 1, 2))):
            cid = len(contacts) + 1
            created = moment(account.created_at, anchor)
            contact = SimContact(
                cid,
                f"Ana{cid}",
                f"Buyer{cid}",
                f"buyer{cid}@example.com",
                account.id,
                account.owner_id,
                rng.choice(SOURCES),
                created,
                created,
            )
            contact.lifecycle["lead"] = created
            t = created
            for stage_name, p in (("marketingqualifiedlead", 0.5), ("salesqualifiedlead", 0.6)):
                if rng.random() >= p:
                    break
                t = _ms(t + timedelta(hours=rng.uniform(2, 24 * 20)))
                if t >= anchor:
                    break
                contact.lifecycle[stage_name] = t
            contact.updated_at = max(contact.lifecycle.values())
            contacts.append(contact)
    contacts_by_account: dict[int, list[SimContact]] = {}
    for contact in contacts:
        contacts_by_account.setdefault(contact.account_id or 0, []).append(contact)

    deal_list: list[SimDeal] = []
    for i in range(deals):
        pipeline = pipelines[0] if rng.random() < 0.85 else pipelines[1]
        open_stages = [s for s in pipeline.stages if not s.is_closed]
        won_stage, lost_stage = pipeline.stages[-2], pipeline.stages[-1]
        created = moment(start, anchor)
        account = rng.choice(accounts)
        choices: list[SimContact | None] = [*contacts_by_account.get(account.id, [])] or [None]
        buyer = rng.choice(choices)
        amount = Decimal(str(round(math.exp(rng.gauss(8.5, 0.8)), 2)))
        cur = currency if rng.random() < 0.8 else rng.choice(tuple(FX_TO_USD))
        deal = SimDeal(
            id=i + 1,
            name=f"Deal {i + 1}",
            amount=amount,
            currency=cur,
            pipeline_id=pipeline.id,
            owner_id=rng.choice(users).id,
            account_id=account.id,
            contact_id=buyer.id if buyer else None,
            source=rng.choice(SOURCES),
            deal_type=rng.choice(DEAL_TYPES),
            created_at=created,
            updated_at=created,
            history=[(open_stages[0].id, created)],
        )
        t = created
        reached = 0
        while reached + 1 < len(open_stages) and rng.random() < 0.65:
            step = _ms(t + timedelta(hours=rng.uniform(6, 24 * 25)))
            if step >= anchor:  # not reached yet: the deal stays where it is
                break
            t = step
            reached += 1
            deal.history.append((open_stages[reached].id, t))
        close_t = _ms(t + timedelta(hours=rng.uniform(6, 24 * 30)))
        if close_t < anchor and rng.random() < 0.8:
            won = rng.random() < 0.25 + 0.15 * reached
            deal.history.append(((won_stage if won else lost_stage).id, close_t))
            deal.status = "WON" if won else "LOST"
            deal.closed_at = close_t
            deal.expected_close = close_t.date()
            if not won:
                deal.lost_reason = rng.choice(LOST_REASONS)
            t = close_t
        else:
            deal.expected_close = (anchor + timedelta(days=rng.randint(5, 90))).date()
        if rng.random() < 0.3:
            deal.recurring_amount = (amount / 12).quantize(Decimal("0.01"))
        if rng.random() < 0.4:
            deal.cost = (amount * Decimal(str(round(rng.uniform(0.3, 0.8), 2)))).quantize(
                Decimal("0.01")
            )
        deal.updated_at = t
        deal_list.append(deal)

    leads: list[SimLead] = []
    for i in range(int(deals * 0.6)):
        created = moment(start, anchor)
        lead = SimLead(
            i + 1,
            f"Lead {i + 1}",
            f"Leo{i + 1}",
            f"Prospect{i + 1}",
            f"Prospect Co {i + 1}",
            f"lead{i + 1}@example.net",
            rng.choice(users).id,
            rng.choice(SOURCES),
            "Open",
            created,
            created,
        )
        if rng.random() < 0.3:
            lead.status = "Unqualified"
        candidates = [
            d
            for d in rng.sample(deal_list, min(3, len(deal_list)))
            if d.created_at > created and d.lead_id is None
        ]
        if candidates and rng.random() < 0.35:
            deal = candidates[0]
            deal.lead_id = lead.id
            lead.status = "Converted"
            lead.converted_at = deal.created_at
            lead.converted_deal_id = deal.id
            lead.converted_account_id = deal.account_id
            lead.converted_contact_id = deal.contact_id
            lead.updated_at = deal.created_at
        leads.append(lead)

    activities: list[SimActivity] = []
    for deal in deal_list:
        for _ in range(int(rng.expovariate(1 / activities_per_deal))):
            kind = rng.choice(ACTIVITY_TYPES)
            created = moment(deal.created_at, deal.closed_at or anchor)
            due = _ms(created + timedelta(hours=rng.uniform(1, 24 * 7)))
            done = due if due < anchor and rng.random() < 0.8 else None
            act = SimActivity(
                len(activities) + 1,
                kind,
                f"{kind.title()} about {deal.name}",
                deal.owner_id,
                deal.id,
                deal.contact_id,
                deal.account_id,
                deal.lead_id,
                created,
                done or created,
                due,
                done,
            )
            if kind == "CALL":
                act.outcome = rng.choice(CALL_OUTCOMES)
                act.direction = rng.choice(("INBOUND", "OUTBOUND"))
            elif kind == "MEETING":
                act.outcome = rng.choice(MEETING_OUTCOMES)
            elif kind == "EMAIL":
                act.direction = rng.choice(("INBOUND", "OUTBOUND"))
            activities.append(act)
    for lead in leads:
        if rng.random() < 0.7:
            created = _ms(lead.created_at + timedelta(minutes=rng.uniform(5, 60 * 48)))
            if created < anchor:
                activities.append(
                    SimActivity(
                        len(activities) + 1,
                        "CALL",
                        f"Call {lead.title}",
                        lead.owner_id,
                        None,
                        None,
                        None,
                        lead.id,
                        created,
                        created,
                        created,
                        created,
                        "CONNECTED",
                        "OUTBOUND",
                    )
                )

    fx_rates = []
    day = start.date()
    while day <= anchor.date():
        for cur, usd in FX_TO_USD.items():
            if cur != "USD":
                drift = 1 + 0.03 * math.sin(day.toordinal() / 45 + len(cur))
                fx_rates.append(SimFxRate(cur, day, Decimal(str(round(usd * drift, 6)))))
        day += timedelta(days=1)

    return Dataset(
        seed,
        anchor,
        currency,
        users,
        teams,
        pipelines,
        accounts,
        contacts,
        leads,
        deal_list,
        activities,
        fx_rates,
        rng,
    )
