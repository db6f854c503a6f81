"""Deterministic, realistic sample landing data for N customers over a date range.

Customers follow one of six behaviours (prospects who never buy, one-time buyers,
repeat buyers, loyal frequent buyers, lapsing buyers who stop, and returning buyers who
come back after a gap of more than 90 days), so every lifecycle stage appears. Orders,
signups, events and spend follow weekly and yearly seasonality with a late-November
peak; some orders are refunded or cancelled; events cover logins, core-feature use,
email opens/clicks and referrals; tickets carry CSAT; some customers answer NPS; a few
customers change consent or are suppressed. Everything is vectorised with numpy and
depends only on the seed, the customer count, the date range and the time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from lifecycle_pipeline import vocabulary
from lifecycle_pipeline.landing_files import iso_utc, write_landing_days
from lifecycle_pipeline.vocabulary import ACQUISITION_CHANNELS

DAY = 86_400
PERSONAS = np.array(["prospect", "one_time", "repeat", "loyal", "lapsing", "returning"])
PERSONA_SHARE = np.array([0.22, 0.30, 0.20, 0.08, 0.13, 0.07])
# mean days between orders while active, and events per active day, by persona
ORDER_GAP_DAYS = {"repeat": 35.0, "loyal": 11.0, "lapsing": 18.0, "returning": 22.0}
EVENTS_PER_DAY = np.array([0.25, 0.15, 0.30, 0.55, 0.30, 0.30])

CHANNELS = np.array(ACQUISITION_CHANNELS)
CHANNEL_SHARE = np.array([0.30, 0.22, 0.18, 0.07, 0.06, 0.07, 0.10])
PAID_CHANNELS = ["paid_search", "social", "display", "affiliate", "email"]
PAID_BASE_SPEND = np.array([900.0, 650.0, 300.0, 220.0, 90.0])
SEGMENTS = np.array(["consumer", "smb", "enterprise"])
SEGMENT_SHARE = np.array([0.72, 0.21, 0.07])
SEGMENT_SPEND = np.array([1.0, 2.4, 5.5])
COUNTRIES = np.array(["US", "GB", "DE", "FR", "CA", "AU", "NL", "ES"])
COUNTRY_SHARE = np.array([0.40, 0.14, 0.12, 0.09, 0.08, 0.06, 0.06, 0.05])
CATEGORIES = np.array(["electronics", "home", "fashion", "beauty", "sports", "books", "toys"])
FIRST_NAMES = np.array(
    ["Ada", "Ben", "Chloé", "Dmitri", "Elif", "Farah", "Gustav", "Hana", "Ivan", "Jia", "Kofi", "Lena",
     "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yusuf", "Zoe"]
)
LAST_NAMES = np.array(
    ["Smith", "Müller", "García", "Chen", "Okafor", "Kowalski", "Nguyen", "Rossi", "Silva", "Khan",
     "Johansson", "Dubois", "O'Brien", "Tanaka", "Haddad", "Novak"]
)
EVENT_TYPES = np.array(vocabulary.EVENT_TYPES)
EVENT_MIX = np.array([0.33, 0.30, 0.14, 0.10, 0.08, 0.035, 0.015])
CORE_FEATURES = np.array(["search", "checkout", "wishlist", "reviews"])
OTHER_FEATURES = np.array(["compare", "gift_cards", "subscriptions", "live_chat"])
SUPPRESSION_REASONS = np.array(vocabulary.SUPPRESSION_REASONS)
SUPPRESSION_SHARE = np.array([0.70, 0.20, 0.08, 0.02])


def _ids(prefix: str, count: int, width: int) -> np.ndarray:
    """Sequential identifiers ``<prefix>0000001`` .. for ``count`` rows (count may be 0)."""
    if count == 0:
        return np.array([], dtype="U1")
    return np.char.add(prefix, np.char.zfill(np.arange(1, count + 1).astype(str), width))


def _ascii(names: np.ndarray) -> np.ndarray:
    """Names folded to the letters an email local part may carry (Chloé -> chloe)."""
    table = str.maketrans({"é": "e", "ü": "u", "í": "i", "'": ""})
    unique, inverse = np.unique(names, return_inverse=True)
    return np.array([u.translate(table) for u in unique])[inverse]


@dataclass(frozen=True)
class Calendar:
    """Local-midnight boundaries (UTC epoch seconds) of ``n_days`` business days."""

    start: dt.date
    n_days: int
    timezone: str
    bounds: np.ndarray = field(repr=False)

    @classmethod
    def build(cls, start: dt.date, end: dt.date, timezone: str) -> Calendar:
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        tz = ZoneInfo(timezone)
        n = (end - start).days + 1
        bounds = np.array(
            [
                int(dt.datetime.combine(start + dt.timedelta(days=i), dt.time(), tzinfo=tz).timestamp())
                for i in range(n + 1)
            ],
            dtype=np.int64,
        )
        return cls(start=start, n_days=n, timezone=timezone, bounds=bounds)

    @property
    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.n_days)]

    @property
    def end_ts(self) -> int:
        return int(self.bounds[-1])

    def day_of(self, ts: np.ndarray) -> np.ndarray:
        """Index of the business day each epoch second falls in (exact across DST)."""
        return np.searchsorted(self.bounds, ts, side="right") - 1

    def at(self, day: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """Epoch seconds at ``fraction`` (0..1) of business day ``day``."""
        day = np.clip(day, 0, self.n_days - 1)
        length = self.bounds[day + 1] - self.bounds[day]
        return self.bounds[day] + (fraction * length).astype(np.int64)

    def seasonality(self) -> np.ndarray:
        """Relative activity of each day: yearly wave, weekend lift, late-November peak."""
        dates = self.days
        doy = np.array([d.timetuple().tm_yday for d in dates], dtype=float)
        weekday = np.array([d.weekday() for d in dates])
        yearly = 1.0 + 0.25 * np.sin(2 * np.pi * (doy - 80) / 365.25)
        weekend = np.where(weekday == 5, 1.25, np.where(weekday == 6, 1.15, 1.0))
        peak = 1.0 + 0.9 * np.exp(-(((doy - 331) / 6.0) ** 2))
        return yearly * weekend * peak


@dataclass
class GeneratedData:
    tables: dict[str, pa.Table]
    day_index: dict[str, np.ndarray]
    calendar: Calendar

    def row_counts(self) -> dict[str, int]:
        return {name: t.num_rows for name, t in self.tables.items()}


def _poisson_times(rng, cal: Calendar, owner, start_ts, end_ts, per_day, season) -> tuple[np.ndarray, np.ndarray]:
    """Seasonal Poisson arrivals per window (vectorised thinning). Returns (owner, ts)."""
    length_days = np.maximum(end_ts - start_ts, 0) / DAY
    accept_ratio = season.mean() / season.max()
    counts = rng.poisson(per_day * length_days / accept_ratio)
    idx = np.repeat(np.arange(len(owner)), counts)
    ts = start_ts[idx] + (rng.random(len(idx)) * (end_ts[idx] - start_ts[idx])).astype(np.int64)
    day = np.clip(cal.day_of(ts), 0, cal.n_days - 1)
    keep = rng.random(len(ts)) < season[day] / season.max()
    keep &= ts < cal.end_ts
    return owner[idx[keep]], ts[keep]


@dataclass(frozen=True)
class Population:
    """Who the customers are: drawn first, shared by every source's generator.

    ``rng`` is the one generator every source draws from, in a fixed order (see
    ``generate``): the draws of each source depend on the draws made before it.
    """

    rng: np.random.Generator = field(repr=False)
    cal: Calendar
    season: np.ndarray = field(repr=False)
    ids: np.ndarray = field(repr=False)
    signup_ts: np.ndarray = field(repr=False)
    persona: np.ndarray = field(repr=False)
    """Index into PERSONAS."""
    segment: np.ndarray = field(repr=False)
    channel: np.ndarray = field(repr=False)
    favourite: np.ndarray = field(repr=False)
    first_name: np.ndarray = field(repr=False)
    last_name: np.ndarray = field(repr=False)
    email: np.ndarray = field(repr=False)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def persona_name(self) -> np.ndarray:
        return PERSONAS[self.persona]

    @property
    def buyer(self) -> np.ndarray:
        return self.persona_name != "prospect"


@dataclass(frozen=True)
class Purchases:
    """What the orders generator decided that later sources build on (arrays per customer / order)."""

    first_order: np.ndarray
    """Epoch seconds of each customer's first order; -1 for prospects."""
    first_stint_end: np.ndarray
    comeback: np.ndarray
    owner: np.ndarray
    """Customer index of each order, in order-time order."""
    ts: np.ndarray


@dataclass(frozen=True)
class SourceRows:
    table: pa.Table
    day: np.ndarray
    """Business-day index each row lands in."""


def _population(rng: np.random.Generator, cal: Calendar, n: int) -> Population:
    """Signup times, persona, segment, channel, favourite category and name of ``n`` customers."""
    season = cal.seasonality()
    growth = np.linspace(0.8, 1.2, cal.n_days)
    signup_weights = season * growth
    signup_day = np.sort(rng.choice(cal.n_days, size=n, p=signup_weights / signup_weights.sum()))
    signup_ts = np.sort(cal.at(signup_day, rng.random(n)))
    persona = rng.choice(len(PERSONAS), size=n, p=PERSONA_SHARE)
    segment = rng.choice(len(SEGMENTS), size=n, p=SEGMENT_SHARE)
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARE)
    favourite = rng.integers(0, len(CATEGORIES), n)
    ids = _ids("C", n, 7)
    first = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), n)]
    last = LAST_NAMES[rng.integers(0, len(LAST_NAMES), n)]
    local = np.char.lower(np.char.add(np.char.add(_ascii(first), "."), _ascii(last)))
    email = np.char.add(np.char.add(local, np.char.add(".", np.arange(1, n + 1).astype(str))), "@example.com")
    return Population(
        rng=rng, cal=cal, season=season, ids=ids, signup_ts=signup_ts, persona=persona, segment=segment,
        channel=channel, favourite=favourite, first_name=first, last_name=last, email=email,
    )


def _customers(pop: Population) -> SourceRows:
    """One row per customer plus a second version of the ~3% who later withdraw email consent."""
    rng, cal, n, ids, signup_ts = pop.rng, pop.cal, pop.n, pop.ids, pop.signup_ts
    has_phone = rng.random(n) < 0.6
    phone = np.where(has_phone, np.char.add("+1555", np.char.zfill(rng.integers(0, 10**7, n).astype(str), 7)), None)
    email_opt_in = rng.random(n) < 0.8
    sms_opt_in = has_phone & (rng.random(n) < 0.45)
    referrer = (rng.random(n) * np.arange(n)).astype(np.int64)
    referred_by = np.where((CHANNELS[pop.channel] == "referral") & (np.arange(n) > 0), ids[referrer], None)

    # consent withdrawals: a second version of ~3% of customer records
    changed = np.flatnonzero(rng.random(n) < 0.03)
    change_ts = signup_ts[changed] + rng.integers(5 * DAY, 200 * DAY, len(changed))
    ok = change_ts < cal.end_ts
    changed, change_ts = changed[ok], change_ts[ok]
    cust_rows = np.concatenate([np.arange(n), changed])
    cust_updated = np.concatenate([signup_ts, change_ts])
    cust_email_opt = np.concatenate([email_opt_in, np.zeros(len(changed), dtype=bool)])
    table = pa.table(
        {
            "customer_id": ids[cust_rows],
            "signup_at": iso_utc(signup_ts[cust_rows]),
            "updated_at": iso_utc(cust_updated),
            "first_name": pop.first_name[cust_rows],
            "last_name": pop.last_name[cust_rows],
            "email": pop.email[cust_rows],
            "phone": phone[cust_rows],
            "country": rng.choice(COUNTRIES, size=n, p=COUNTRY_SHARE)[cust_rows],
            "acquisition_channel": CHANNELS[pop.channel][cust_rows],
            "segment": SEGMENTS[pop.segment][cust_rows],
            "email_opt_in": cust_email_opt,
            "sms_opt_in": sms_opt_in[cust_rows],
            "referred_by": referred_by[cust_rows],
        }
    )
    return SourceRows(table, cal.day_of(cust_updated))


def _orders(pop: Population) -> tuple[SourceRows, Purchases]:
    """A first purchase per buyer, then Poisson repeat purchases in activity windows."""
    rng, cal, n, name, buyer = pop.rng, pop.cal, pop.n, pop.persona_name, pop.buyer
    first_order = pop.signup_ts + rng.exponential(4 * DAY, n).astype(np.int64)
    first_order = np.where(buyer, first_order, -1)
    w_owner, w_start, w_end, w_gap = [], [], [], []

    def window(mask, start_ts, end_ts, gap_days):
        sel = np.flatnonzero(mask)
        w_owner.append(sel)
        w_start.append(start_ts[sel])
        w_end.append(np.minimum(end_ts[sel], cal.end_ts))
        w_gap.append(np.full(len(sel), gap_days))

    forever = np.full(n, cal.end_ts, dtype=np.int64)
    window(name == "repeat", first_order, forever, ORDER_GAP_DAYS["repeat"])
    window(name == "loyal", first_order, forever, ORDER_GAP_DAYS["loyal"])
    lapse_end = first_order + rng.integers(40 * DAY, 150 * DAY, n)
    window(name == "lapsing", first_order, lapse_end, ORDER_GAP_DAYS["lapsing"])
    first_stint_end = first_order + rng.integers(30 * DAY, 80 * DAY, n)
    comeback = first_stint_end + rng.integers(95 * DAY, 200 * DAY, n)
    window(name == "returning", first_order, first_stint_end, ORDER_GAP_DAYS["returning"])
    window(name == "returning", comeback, forever, ORDER_GAP_DAYS["returning"])
    w_owner, w_start, w_end, w_gap = map(np.concatenate, (w_owner, w_start, w_end, w_gap))
    rep_owner, rep_ts = _poisson_times(rng, cal, w_owner, w_start, w_end, 1.0 / w_gap, pop.season)
    has_first = buyer & (first_order < cal.end_ts)
    o_owner = np.concatenate([np.flatnonzero(has_first), rep_owner])
    o_ts = np.concatenate([first_order[has_first], rep_ts])
    sort = np.lexsort((o_owner, o_ts))
    o_owner, o_ts = o_owner[sort], o_ts[sort]
    m = len(o_owner)
    order_ids = _ids("O", m, 8)
    amount = np.round(rng.lognormal(np.log(42.0), 0.55, m) * SEGMENT_SPEND[pop.segment[o_owner]], 2)
    category = np.where(
        rng.random(m) < 0.6, CATEGORIES[pop.favourite[o_owner]], CATEGORIES[rng.integers(0, len(CATEGORIES), m)]
    )
    fate = rng.random(m)
    status = np.where(fate < 0.03, "cancelled", "completed")
    refunded = (fate >= 0.03) & (fate < 0.08)
    refund_ts = o_ts + rng.integers(1 * DAY, 20 * DAY, m)
    refunded &= refund_ts < cal.end_ts
    ref = np.flatnonzero(refunded)
    o_rows = np.concatenate([np.arange(m), ref])
    table = pa.table(
        {
            "order_id": order_ids[o_rows],
            "customer_id": pop.ids[o_owner[o_rows]],
            "ordered_at": iso_utc(o_ts[o_rows]),
            "amount": amount[o_rows],
            "status": np.concatenate([status, np.full(len(ref), "refunded")]),
            "updated_at": iso_utc(np.concatenate([o_ts, refund_ts[ref]])),
            "currency": np.full(len(o_rows), "USD"),
            "category": category[o_rows],
        }
    )
    rows = SourceRows(table, cal.day_of(np.concatenate([o_ts, refund_ts[ref]])))
    return rows, Purchases(first_order, first_stint_end, comeback, o_owner, o_ts)


def _events(pop: Population, purchases: Purchases) -> tuple[SourceRows, np.ndarray]:
    """Activity while buying (plus a tail); prospects browse briefly. Also returns each customer's activity end."""
    rng, cal, n, persona, signup_ts = pop.rng, pop.cal, pop.n, pop.persona, pop.signup_ts
    last_order = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_order, purchases.owner, purchases.ts)
    act_end = np.where(
        pop.buyer,
        np.maximum(last_order, signup_ts) + rng.integers(5 * DAY, 45 * DAY, n),
        signup_ts + rng.integers(DAY, 25 * DAY, n),
    )
    is_returning = pop.persona_name == "returning"
    gap_start = np.where(is_returning, purchases.first_stint_end + 20 * DAY, cal.end_ts)
    e_owner1, e_ts1 = _poisson_times(
        rng, cal, np.arange(n), signup_ts, np.minimum(act_end, gap_start), EVENTS_PER_DAY[persona], pop.season
    )
    ret = np.flatnonzero(is_returning)
    e_owner2, e_ts2 = _poisson_times(
        rng, cal, ret, np.minimum(purchases.comeback[ret], act_end[ret]), act_end[ret], EVENTS_PER_DAY[persona[ret]],
        pop.season,
    )
    e_owner = np.concatenate([e_owner1, e_owner2])
    e_ts = np.concatenate([e_ts1, e_ts2])
    sort = np.lexsort((e_owner, e_ts))
    e_owner, e_ts = e_owner[sort], e_ts[sort]
    k = len(e_owner)
    mix = np.tile(EVENT_MIX, (len(PERSONAS), 1))
    mix[3, 6] *= 3  # loyal customers refer more
    mix = mix / mix.sum(axis=1, keepdims=True)
    cum = np.cumsum(mix, axis=1)[persona[e_owner]]
    etype = (rng.random(k)[:, None] > cum).sum(axis=1)
    feature = np.full(k, None, dtype=object)
    core = etype == 2
    breadth = 1 + (persona[e_owner] >= 2) + (persona[e_owner] == 3) * 2  # loyal use more features
    feature[core] = CORE_FEATURES[rng.integers(0, 4, k)[core] % np.minimum(breadth[core], 4)]
    other = etype == 3
    feature[other] = OTHER_FEATURES[rng.integers(0, len(OTHER_FEATURES), int(other.sum()))]
    table = pa.table(
        {
            "event_id": _ids("E", k, 10),
            "customer_id": pop.ids[e_owner],
            "occurred_at": iso_utc(e_ts),
            "event_type": EVENT_TYPES[etype],
            "feature": feature,
        }
    )
    return SourceRows(table, cal.day_of(e_ts)), act_end


def _support_tickets(pop: Population, purchases: Purchases) -> SourceRows:
    """Some orders raise a ticket; it lands when resolved (or when opened, while still open)."""
    rng, cal = pop.rng, pop.cal
    t_src = np.flatnonzero(rng.random(len(purchases.owner)) < 0.06)
    t_owner = purchases.owner[t_src]
    opened = purchases.ts[t_src] + rng.integers(0, 10 * DAY, len(t_src))
    resolved = opened + rng.exponential(1.5 * DAY, len(t_src)).astype(np.int64)
    keep = opened < cal.end_ts
    t_owner, opened, resolved = t_owner[keep], opened[keep], resolved[keep]
    open_now = (resolved >= cal.end_ts) | (rng.random(len(opened)) < 0.03)
    resolved = np.where(open_now, -1, resolved)
    unhappy = np.isin(pop.persona_name[t_owner], ["lapsing", "one_time"])
    csat_happy = rng.choice(np.arange(1, 6), len(opened), p=[0.04, 0.06, 0.15, 0.33, 0.42])
    csat_sad = rng.choice(np.arange(1, 6), len(opened), p=[0.20, 0.20, 0.25, 0.20, 0.15])
    csat = np.where(unhappy, csat_sad, csat_happy).astype(object)
    csat[open_now | (rng.random(len(opened)) < 0.2)] = None
    table = pa.table(
        {
            "ticket_id": _ids("T", len(opened), 8),
            "customer_id": pop.ids[t_owner],
            "opened_at": iso_utc(opened),
            "resolved_at": iso_utc(resolved),
            "csat": pa.array(csat, type=pa.int16()),
        }
    )
    return SourceRows(table, cal.day_of(np.where(resolved >= 0, resolved, opened)))


def _nps_responses(pop: Population, purchases: Purchases, act_end: np.ndarray) -> SourceRows:
    """A quarter of buyers answer during their activity; some loyal customers answer twice."""
    rng, cal, name, first_order = pop.rng, pop.cal, pop.persona_name, purchases.first_order
    resp = np.flatnonzero(pop.buyer & (rng.random(pop.n) < 0.25) & (first_order < cal.end_ts))
    loyal_again = resp[(name[resp] == "loyal") & (rng.random(len(resp)) < 0.3)]
    r_owner = np.concatenate([resp, loyal_again])
    lo = np.minimum(first_order[r_owner] + DAY, cal.end_ts - 1)
    hi = np.minimum(np.maximum(act_end[r_owner], lo + 1), cal.end_ts)
    r_ts = lo + (rng.random(len(r_owner)) * (hi - lo)).astype(np.int64)
    sort = np.lexsort((r_owner, r_ts))
    r_owner, r_ts = r_owner[sort], r_ts[sort]
    fan = np.isin(name[r_owner], ["loyal", "repeat"])
    score = np.where(
        fan,
        rng.choice(np.arange(11), len(r_owner), p=[0, 0, 0, 0, 0.01, 0.02, 0.04, 0.08, 0.15, 0.30, 0.40]),
        rng.choice(np.arange(11), len(r_owner), p=[0.05, 0.04, 0.05, 0.06, 0.08, 0.10, 0.12, 0.16, 0.14, 0.11, 0.09]),
    )
    table = pa.table(
        {
            "response_id": _ids("N", len(r_owner), 8),
            "customer_id": pop.ids[r_owner],
            "responded_at": iso_utc(r_ts),
            "score": pa.array(score, type=pa.int16()),
            "comment": np.where(score >= 9, "Love it", np.where(score <= 6, "Too expensive", None)),
        }
    )
    return SourceRows(table, cal.day_of(r_ts))


def _marketing_spend(pop: Population) -> SourceRows:
    """Spend, impressions and clicks per day and paid channel, scaled to the customer count."""
    rng, cal, season = pop.rng, pop.cal, pop.season
    scale = max(pop.n / 20_000, 0.05)
    d_idx = np.repeat(np.arange(cal.n_days), len(PAID_CHANNELS))
    c_idx = np.tile(np.arange(len(PAID_CHANNELS)), cal.n_days)
    spend = np.round(
        PAID_BASE_SPEND[c_idx] * scale * season[d_idx] / season.mean() * rng.lognormal(0, 0.15, len(d_idx)), 2
    )
    impressions = (spend * rng.uniform(60, 140, len(d_idx))).astype(np.int64)
    clicks = (impressions * rng.uniform(0.008, 0.03, len(d_idx))).astype(np.int64)
    table = pa.table(
        {
            "spend_date": np.array([d.isoformat() for d in cal.days])[d_idx],
            "channel": np.array(PAID_CHANNELS)[c_idx],
            "spend": spend,
            "impressions": impressions,
            "clicks": clicks,
        }
    )
    return SourceRows(table, d_idx)


def _suppressions(pop: Population) -> SourceRows:
    """About 1.5% of customers are suppressed, by customer id, email or both."""
    rng, cal = pop.rng, pop.cal
    sup = np.flatnonzero(rng.random(pop.n) < 0.015)
    sup_ts = pop.signup_ts[sup] + rng.integers(DAY, 200 * DAY, len(sup))
    ok = sup_ts < cal.end_ts
    sup, sup_ts = sup[ok], sup_ts[ok]
    sort = np.argsort(sup_ts, kind="stable")
    sup, sup_ts = sup[sort], sup_ts[sort]
    how = rng.random(len(sup))
    table = pa.table(
        {
            "customer_id": np.where(how < 0.75, pop.ids[sup], None),
            "email": np.where(how >= 0.5, pop.email[sup], None),
            "reason": rng.choice(SUPPRESSION_REASONS, len(sup), p=SUPPRESSION_SHARE),
            "suppressed_at": iso_utc(sup_ts),
        }
    )
    return SourceRows(table, cal.day_of(sup_ts))


def generate(
    customers: int,
    start: dt.date,
    end: dt.date,
    seed: int = 42,
    timezone: str = "UTC",
) -> GeneratedData:
    """Build every source's rows in memory (see module docstring).

    All sources draw from one random generator, so the order of the calls below is
    part of the output: reordering them changes every source after the first moved.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    rng = np.random.default_rng(seed)
    cal = Calendar.build(start, end, timezone)
    pop = _population(rng, cal, customers)
    customers_rows = _customers(pop)
    orders_rows, purchases = _orders(pop)
    events_rows, act_end = _events(pop, purchases)
    tickets_rows = _support_tickets(pop, purchases)
    nps_rows = _nps_responses(pop, purchases, act_end)
    spend_rows = _marketing_spend(pop)
    suppressions_rows = _suppressions(pop)
    sources = {
        "customers": customers_rows,
        "orders": orders_rows,
        "events": events_rows,
        "support_tickets": tickets_rows,
        "nps_responses": nps_rows,
        "marketing_spend": spend_rows,
        "suppressions": suppressions_rows,
    }
    return GeneratedData(
        tables={name: rows.table for name, rows in sources.items()},
        day_index={name: rows.day for name, rows in sources.items()},
        calendar=cal,
    )


def write_sample_data(data: GeneratedData, landing_root: Path, fmt: str = "csv") -> dict[str, int]:
    """Write every source as one file per day; returns rows written per source."""
    for source, table in data.tables.items():
        write_landing_days(table, data.day_index[source], data.calendar.days, source, landing_root, fmt)
    return data.row_counts()
