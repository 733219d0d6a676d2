"""Currencies and conversion rates, where the org has multi-currency: ``CurrencyType`` and,
with Advanced Currency Management, ``DatedConversionRate``. Single-currency orgs have
neither object: the streams require the ``currency_types`` / ``dated_rates`` capabilities
and are SKIPPED (every amount is then in the org's corporate currency, see
``DealsStream``); an org discovery did not cover answers INVALID_TYPE, which the request's
``capability`` turns into the same skip."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from connectors.salesforce import mapping, settings, soql, values
from connectors.salesforce.state import run_state
from connectors.salesforce.streams import SalesforceStream
from core.sync.connector import HttpClient, MappingError, Request, StreamContext
from core.sync.records import AnyRecord, CurrencyRecord, Record


class _RatesStream(SalesforceStream):
    """Conversion rates, only where the org has multi-currency (else the object is missing)."""

    #: Yields FxRateRecord (written to fx_rates; not a synced Record subclass).
    produces: ClassVar[tuple[type[Record], ...]] = ()
    incremental = False
    finds_deletions = False

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        """The corporate currency, read once per run (rates are per unit of it)."""
        run = run_state(ctx)
        if run.corporate_currency_read:
            return
        text = soql.select("CurrencyType", ["IsoCode"], where=["IsCorporate = true"])
        request = Request(
            path=run.api.data("/query"), params={"q": text}, capability="currency_types"
        )
        rows = self.extract(await http.send(request))
        run.corporate_currency = values.text(rows[0].get("IsoCode")) if rows else None
        run.corporate_currency_read = True

    def query(self, ctx: StreamContext) -> str:
        return soql.select(self.sobject, settings.FIELDS[self.sobject], order_by=("Id",))

    def corporate(self, raw: Mapping[str, Any], ctx: StreamContext) -> str | None:
        """The corporate currency, or None for its own row (always 1)."""
        corporate = run_state(ctx).corporate_currency
        if not corporate:
            raise MappingError("conversion rate without a corporate currency")
        return None if raw.get("IsoCode") == corporate else str(corporate)


class CurrenciesStream(_RatesStream):
    """CurrencyType: the org's currencies, and the rates in force today."""

    name = "currencies"
    sobject = "CurrencyType"
    produces = (CurrencyRecord,)
    requires = ("currency_types",)
    capability = "currency_types"

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        currency = map_currency(raw)
        corporate = self.corporate(raw, ctx)
        if corporate is None:
            return [currency]
        day = (ctx.now or datetime.now(UTC)).date()
        try:
            rate = mapping.map_currency_type(raw, corporate=corporate, day=day)
        except MappingError:
            if currency.active:
                raise
            return [currency]  # an inactive currency may keep no usable rate
        return [currency, rate]


def map_currency(raw: Mapping[str, Any]) -> CurrencyRecord:
    """A CurrencyType as a currency of the org. Its ISO code is what opportunities reference
    (``CurrencyIsoCode``), so it is the remote id; inactive ones stay, marked inactive."""
    code = values.text(raw.get("IsoCode"))
    if code is None:
        raise MappingError("CurrencyType without IsoCode")
    places = raw.get("DecimalPlaces")
    return CurrencyRecord(
        remote_id=code,
        code=code,
        decimals=None if places is None else int(places),
        active=raw.get("IsActive") is not False,
        remote_data=values.remote_data(raw),
    )


class DatedRatesStream(_RatesStream):
    """DatedConversionRate (advanced currency management): one rate per validity range."""

    name = "fx_rates"
    sobject = "DatedConversionRate"
    requires = ("currency_types", "dated_rates")
    capability = "dated_rates"

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        corporate = self.corporate(raw, ctx)
        return [] if corporate is None else [mapping.map_dated_rate(raw, corporate=corporate)]
