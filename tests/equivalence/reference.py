"""KPIS.md read in plain Python, straight from the seeded business (core.simulation.dataset),
written independently of the SQL compiler: what every CRM's synced workspace should answer.

Only the business's own facts are used (no CRM rendering, no normalized rows), with the
rulings of KPIS.md "Precise conventions": flows on exact instants against the period's UTC
bounds, the customer lifecycle on local dates, money at the rate of the local close date
(stocks at the period's last local day). A KPI missing here is compared across CRMs only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.simulation.dataset import Dataset, SimActivity, SimDeal

Value = float | None
#: The workspace's default noContactDays (inactiveCustomers).
NO_CONTACT_DAYS = 90


def _ratio(numerator: float, denominator: float) -> Value:
    return numerator / denominator if denominator else None


def _mean(values: list[float]) -> Value:
    return sum(values) / len(values) if values else None


class Reference:
    """The KPIs of one period ``[start, end)`` of local dates in ``timezone``, at ``as_of``."""

    def __init__(
        self,
        data: Dataset,
        start: date,
        end: date,
        timezone: str,
        as_of: datetime,
        inactivity_days: int = 365,
    ):
        self.data, self.zone, self.as_of = data, ZoneInfo(timezone), as_of
        self.inactivity = timedelta(days=inactivity_days)
        self.first, self.last = start, end - timedelta(days=1)
        self.lo = datetime.combine(start, datetime.min.time(), self.zone).astimezone(UTC)
        self.hi = datetime.combine(end, datetime.min.time(), self.zone).astimezone(UTC)
        self.deals = [d for d in data.deals if d.deleted_at is None]
        self.rates: dict[tuple[str, date], Decimal] = {
            (r.currency, r.day): r.usd for r in data.fx_rates
        }

    # -- helpers ------------------------------------------------------------------------

    def _in(self, at: datetime | None) -> bool:
        return at is not None and self.lo <= at < self.hi

    def _day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def _usd(self, amount: Decimal, currency: str, day: date) -> float:
        rate = Decimal(1) if currency == "USD" else self.rates[(currency, day)]
        return float(amount * rate)

    def _won(self) -> list[SimDeal]:
        return [d for d in self.deals if d.status == "WON" and self._in(d.closed_at)]

    def _lost(self) -> list[SimDeal]:
        return [d for d in self.deals if d.status == "LOST" and self._in(d.closed_at)]

    def _revenue(self, deals: list[SimDeal]) -> float:
        return sum(self._usd(d.amount, d.currency, self._day(d.closed_at)) for d in deals)  # type: ignore[arg-type]

    def _open_at(self, d: SimDeal, t: datetime) -> bool:
        return d.created_at < t and (d.status == "OPEN" or d.closed_at >= t)  # type: ignore[operator]

    # -- deals --------------------------------------------------------------------------

    def deals_kpis(self) -> dict[str, Value]:
        won, lost = self._won(), self._lost()
        open_any = [
            d
            for d in self.deals
            if d.created_at < self.hi and (d.status == "OPEN" or d.closed_at > self.lo)  # type: ignore[operator]
        ]
        open_end = [d for d in self.deals if self._open_at(d, self.hi)]
        revenue = self._revenue(won)
        cycles = [(d.closed_at - d.created_at).total_seconds() / 86400 for d in won]  # type: ignore[operator]
        pipeline = sum(self._usd(d.amount, d.currency, self.last) for d in open_end)
        return {
            "opportunitiesCreated": sum(1 for d in self.deals if self._in(d.created_at)),
            "dealsWon": len(won),
            "dealsLost": len(lost),
            "winRate": _ratio(len(won), len(won) + len(lost)),
            "winLossRatio": _ratio(len(won), len(lost)),
            "closeRate": _ratio(len(won), len(open_any)),
            "salesRevenue": revenue,
            "averageDealSize": _ratio(revenue, len(won)),
            "openDeals": len(open_end),
            "pipelineValue": pipeline,
            "averageSalesCycleDays": _mean(cycles),
            "leadCloseRatio": _ratio(len(won), self._new_leads()),
        }

    # -- leads (Lead records: Salesforce Leads, Pipedrive leads, HubSpot Leads objects) -----

    def _leads(self) -> list:  # type: ignore[type-arg]
        return [x for x in self.data.leads if x.deleted_at is None and self._in(x.created_at)]

    def _new_leads(self) -> int:
        return len(self._leads())

    def _conversion(self, lead) -> datetime | None:  # type: ignore[no-untyped-def]
        """The close time of the lead's own deal, when that deal was won."""
        deal = next((d for d in self.deals if d.id == lead.converted_deal_id), None)
        return deal.closed_at if deal is not None and deal.status == "WON" else None

    def _lead_activities(self, lead) -> list[SimActivity]:  # type: ignore[no-untyped-def]
        """Linked to the lead, or (once converted) to its contact, done after its creation."""
        out = []
        for a in self.data.activities:
            done = self._done_at(a)
            if a.deleted_at is not None or done is None:
                continue
            if a.lead_id == lead.id or (
                lead.converted_contact_id is not None
                and a.contact_id == lead.converted_contact_id
                and done >= lead.created_at
            ):
                out.append(a)
        return out

    def _became_contact(self, lead) -> int | None:  # type: ignore[no-untyped-def]
        """The contact a lead converted into (its own, else its converted deal's)."""
        if lead.converted_at is None and lead.converted_deal_id is None:
            return None
        deal = next((d for d in self.deals if d.id == lead.converted_deal_id), None)
        return lead.converted_contact_id or (deal.contact_id if deal is not None else None)

    def lead_kpis(self) -> dict[str, Value]:
        leads = self._leads()
        converted = [x for x in leads if (c := self._conversion(x)) and c <= self.as_of]
        in_period = [
            (x, c)
            for x in self.data.leads
            if x.deleted_at is None and (c := self._conversion(x)) is not None and self._in(c)
        ]
        followed, responses = 0, []
        for lead in leads:
            done = [t for a in self._lead_activities(lead) if (t := self._done_at(a))]
            done = [t for t in done if t <= self.as_of]
            if done:
                followed += 1
                first = min(done)
                if first >= lead.created_at:
                    responses.append((first - lead.created_at).total_seconds() / 3600)
        return {
            "newLeads": len(leads),
            "leadConversionRate": _ratio(len(converted), len(leads)),
            "averageTimeToConvertDays": _mean(
                [(c - x.created_at).total_seconds() / 86400 for x, c in in_period]
            ),
            "leadFollowUpRate": _ratio(followed, len(leads)),
            "averageResponseTimeHours": _mean(responses),
        }

    def qualified_kpis(self) -> dict[str, Value]:
        """MQLs / SQLs of the period (contacts' lifecycle dates; a lead is SQL when converted,
        the status mapping the test configures) that became customers by as-of: a contact
        when its lifecycle reaches customer, a lead when its own deal is won."""
        out: dict[str, Value] = {}
        for stage, kpi in (
            ("marketingqualifiedlead", "mqlToCustomerRate"),
            ("salesqualifiedlead", "sqlToCustomerRate"),
        ):
            people = [
                c
                for c in self.data.contacts
                if not c.deleted_at and self._in(c.lifecycle.get(stage))
            ]
            customers = [
                c for c in people if (t := c.lifecycle.get("customer")) and t <= self.as_of
            ]
            leads = [
                x
                for x in self.data.leads
                if kpi == "sqlToCustomerRate"
                and not x.deleted_at
                and x.status == "Converted"
                and self._in(x.converted_at)
            ]
            won = [x for x in leads if (c := self._conversion(x)) and c <= self.as_of]
            out[kpi] = _ratio(len(customers) + len(won), len(people) + len(leads))
        return out

    # -- activities ---------------------------------------------------------------------

    @staticmethod
    def _done_at(a: SimActivity) -> datetime | None:
        """A note is done when written (it has no open state in any CRM); a held meeting
        happens at its start (its due time); anything else when done (None while open)."""
        if a.type == "NOTE":
            return a.created_at
        if a.done_at is None:
            return None
        return (a.due_at or a.done_at) if a.type == "MEETING" else a.done_at

    def activity_kpis(self) -> dict[str, Value]:
        done = [
            a
            for a in self.data.activities
            if a.deleted_at is None and (t := self._done_at(a)) is not None and self._in(t)
        ]
        meetings = [
            a
            for a in self.data.activities
            if a.type == "MEETING" and a.deleted_at is None and self._in(a.created_at)
        ]
        # held (done), or still on: neither cancelled nor a no-show
        on = [a for a in meetings if a.done_at or a.outcome not in ("NO_SHOW", "CANCELED")]
        return {
            "activities": len(done),
            "meetingAcceptanceRate": _ratio(len(on), len(meetings)),
            "pendingFollowUps": self._pending_follow_ups(),
        }

    def _pending_follow_ups(self) -> int:
        """At the period's end: open activities due before it, plus open deals and open leads
        (not converted by then) with no activity scheduled at or after it, a lead's being
        those of the contact it converted into too. Notes have no due time in any CRM."""
        acts = [a for a in self.data.activities if a.deleted_at is None]
        end = self.hi

        def undone(a: SimActivity) -> bool:
            return (t := self._done_at(a)) is None or t >= end

        scheduled = [
            a for a in acts if a.type != "NOTE" and a.due_at and a.due_at >= end and undone(a)
        ]
        due = sum(
            1 for a in acts if a.created_at < end and a.due_at and a.due_at < end and undone(a)
        )
        deals = {a.deal_id for a in scheduled}
        idle_deals = sum(1 for d in self.deals if self._open_at(d, end) and d.id not in deals)
        idle_leads = 0
        for lead in self.data.leads:
            converted = self._conversion(lead)
            if lead.deleted_at or lead.created_at >= end or (converted and converted < end):
                continue
            contact = self._became_contact(lead)
            if not any(
                a.lead_id == lead.id or (contact is not None and a.contact_id == contact)
                for a in scheduled
            ):
                idle_leads += 1
        return due + idle_deals + idle_leads

    # -- customers ----------------------------------------------------------------------

    def _stretches(self) -> dict[int, list[tuple[date, date]]]:
        """Per account, merged [start, end) local-date intervals of its wins and contracts."""
        spans: dict[int, list[tuple[date, date]]] = defaultdict(list)
        for d in self.deals:
            if d.status != "WON" or d.account_id is None or d.closed_at is None:
                continue
            day = self._day(d.closed_at)
            spans[d.account_id].append((day, day + self.inactivity))
            if d.recurring_amount is not None:  # a recurring contract without an end
                spans[d.account_id].append((day, date.max))
        merged: dict[int, list[tuple[date, date]]] = {}
        for account, items in spans.items():
            out: list[tuple[date, date]] = []
            for s, e in sorted(items):
                if out and s <= out[-1][1]:
                    out[-1] = (out[-1][0], max(out[-1][1], e))
                else:
                    out.append((s, e))
            merged[account] = out
        return merged

    def customer_kpis(self) -> dict[str, Value]:
        stretches = self._stretches()
        before, last = self.first - timedelta(days=1), self.last

        def active(account: int, day: date) -> bool:
            return any(s <= day < e for s, e in stretches[account])

        at_start = [a for a in stretches if active(a, before)]
        at_end = [a for a in stretches if active(a, last)]
        retained = [a for a in at_start if active(a, last)]
        new = [
            (a, s) for a, spans in stretches.items() for s, _ in spans if self.first <= s <= last
        ]
        lost = [
            (a, s, e) for a, spans in stretches.items() for s, e in spans if self.first <= e <= last
        ]
        any_day = [
            a
            for a, spans in stretches.items()
            if any(s <= last and e > self.first for s, e in spans)
        ]
        won = self._won()
        revenue = self._revenue(won)
        existing = [
            d
            for d in won
            if d.deal_type in ("UPSELL", "CROSS_SELL", "UPGRADE")
            and d.account_id is not None
            and active(d.account_id, self._day(d.closed_at) - timedelta(days=1))  # type: ignore[arg-type]
        ]
        upsold = [d for d in won if d.deal_type in ("UPSELL", "CROSS_SELL")]
        first_deal: Callable[[int, date], SimDeal] = lambda a, s: min(  # noqa: E731
            (d for d in won_all if d.account_id == a and self._day(d.closed_at) == s),  # type: ignore[arg-type]
            key=lambda d: d.closed_at,  # type: ignore[arg-type, return-value]
        )
        won_all = [d for d in self.deals if d.status == "WON" and d.closed_at is not None]
        referred = [a for a, s in new if "referr" in first_deal(a, s).source.lower()]
        contacted = {
            a.account_id
            for a in self.data.activities
            if a.deleted_at is None
            and a.account_id is not None
            and (t := self._done_at(a)) is not None
            and self._in(t)
        }
        ever = [a for a, spans in stretches.items() if spans[0][0] <= last]
        recent = self.hi - timedelta(days=NO_CONTACT_DAYS)
        lately = {
            a.account_id
            for a in self.data.activities
            if a.deleted_at is None
            and a.account_id is not None
            and (t := self._done_at(a)) is not None
            and recent <= t < self.hi
        }
        return {
            "inactiveCustomers": sum(1 for a in ever if not (active(a, last) and a in lately)),
            "existingCustomerEngagement": _ratio(
                sum(1 for a in at_start if a in contacted), len(at_start)
            ),
            "newCustomers": len(new),
            "activeCustomers": len(at_end),
            "customerChurnRate": _ratio(len(lost), len(at_start)),
            "netCustomerChurnRate": _ratio(len(at_start) - len(at_end), len(at_start)),
            "customerRetentionRate": _ratio(len(retained), len(at_start)),
            "arpa": _ratio(revenue, len(any_day)),
            "averageCustomerValue": _ratio(revenue, len({d.account_id for d in won})),
            "averageCustomerLifetimeDays": _mean([(e - s).days for _, s, e in lost]),
            "expansionRevenue": self._revenue(existing),
            "upsellCrossSellRate": _ratio(len(upsold), len(at_start)),
            "referralCustomers": len(referred),
        }

    def all(self) -> dict[str, Value]:
        return {
            **self.deals_kpis(),
            **self.lead_kpis(),
            **self.qualified_kpis(),
            **self.activity_kpis(),
            **self.customer_kpis(),
        }
