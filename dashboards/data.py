"""Every query the dashboards and the report pack run, in one place.

Reads only the published serving database, through `orchestration.publish.connect_serving`. The database a
publish writes is never changed afterwards (the next publish renames a new file into place), so one
read-only connection is kept per published file version (inode, modification time, size): each page render
or callback reads through a cursor of it (a fraction of a millisecond, where opening a connection costs tens
of milliseconds), DuckDB's buffer cache stays warm between clicks, and results of small queries are kept
per version. Every call checks the file's version first, so the first call after a publish reads the new
file. Filter values reach SQL only as bound parameters; the few identifiers that vary (tables probed for
existence, columns shown to a role, filter columns) come from the allow-lists below, never from user input.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from orchestration.publish import connect_serving
from orchestration.settings import Settings

# Personal data: shown only to roles allowed to see it (dashboards.auth.PII_ROLES).
PII_COLUMNS = ("first_name", "last_name", "date_of_birth", "email", "phone", "national_id", "address_line1",
               "address_line2", "city", "postcode")
# Customer profile columns any role may see.
PROFILE_COLUMNS = ("customer_key", "source_system", "source_customer_id", "gender", "region", "country",
                   "has_sentinel_birth_date", "has_invalid_email", "is_id_only", "valid_from")
# Tables other engineers are building; pages show "not built yet" until they are published.
FUTURE_TABLES = ("customer_clv", "model_metrics", "customer_segments", "segment_profiles", "campaign_lift",
                 "policy_comparison", "maturity_evidence", "maturity_assessment", "maturity_gaps",
                 "maturity_sponsors")
MATURITY_PARTS = ("evidence", "assessment", "gaps", "sponsors")
# The targeting model's scores, which the Campaigns page builds target lists from (probed like FUTURE_TABLES).
TARGETING_TABLES = ("campaign_scores",)
# Columns of a target list; PII columns are appended for roles that may see them.
TARGET_COLUMNS = ("customer_key", "profit_decile", "profit", "revenue", "cost_to_serve", "products_held", "region",
                  "geo_segment")
TARGET_LIST_LIMIT = 100_000
# Segments page filters: filter key -> (column of the in-memory segment base or membership table, value kind).
SEGMENT_FILTERS = {
    "tier": ("value_tier", str), "behaviour": ("behaviour_segment", str), "rfm": ("rfm_segment", str),
    "decile": ("profit_decile", int), "region": ("region", str), "product": ("product_id", str),
    "channel": ("channel_id", str),
}
SEGMENT_MEMBERSHIP = {"product_id": "segment_products", "channel_id": "segment_channels"}
MAX_FILTER_VALUES = 200
CLV_BINS = 30
# Columns of a Segments target list (no personal data); PII_COLUMNS appended for roles that may see them.
SEGMENT_EXPORT_COLUMNS = ("customer_key", "value_tier", "rfm_segment", "behaviour_segment", "treatment", "clv",
                          "profit_decile")
# Campaigns page: segment dimensions a past campaign's contacts are grouped by (columns of campaign_base).
CAMPAIGN_DIMENSIONS = ("value_tier", "profit_decile", "rfm_segment", "behaviour_segment", "treatment")
_NO_SEGMENTS = ("(select cast(null as varchar) as customer_key, cast(null as varchar) as value_tier, "
                "cast(null as integer) as tier_rank, cast(null as varchar) as rfm_segment, "
                "cast(null as varchar) as behaviour_segment, cast(null as varchar) as treatment)")
CAMPAIGN_BASE_SQL = (
    # Contacts summed per campaign and combination of the customer's segments: far fewer rows than contacts.
    """create or replace table memory.main.campaign_base as
       select d.campaign_name, d.start_date, s.value_tier, s.tier_rank, p.profit_decile, s.rfm_segment,
              s.behaviour_segment, s.treatment,
              sum(case when c.is_control then 0 else 1 end) as contacts,
              sum(case when not c.is_control and c.has_responded then 1 else 0 end) as responders,
              sum(case when c.is_control then 0 else cast(coalesce(d.cost_per_contact, 0) as double) end)
                  as contact_cost,
              sum(case when not c.is_control and c.has_responded
                       then cast(coalesce(c.response_value, 0) as double) else 0 end) as response_value,
              sum(case when c.is_control then 1 else 0 end) as controls,
              sum(case when c.is_control and c.has_responded then 1 else 0 end) as control_responders
       from warehouse.fct_campaign_contacts as c
       join warehouse.dim_campaign as d on d.campaign_key = c.campaign_key
       left join marts.customer_segments as s on s.customer_key = c.customer_key
       left join marts.customer_profitability as p on p.customer_key = c.customer_key
       group by all""",
)
# The same before the segmentation model is published: segment columns empty.
CAMPAIGN_BASE_UNSEGMENTED_SQL = tuple(q.replace("marts.customer_segments", _NO_SEGMENTS) for q in CAMPAIGN_BASE_SQL)
SEGMENT_BASE_SQL = (
    """create or replace table memory.main.segment_base as
       select cast(row_number() over (order by s.customer_key) as integer) as cid, s.customer_key,
              s.value_tier, s.tier_rank, s.rfm_segment, s.behaviour_segment, s.treatment,
              cast(s.clv as double) as clv, cast(s.profit as double) as profit, s.is_unprofitable,
              p.profit_decile, coalesce(s.region, p.region) as region
       from marts.customer_segments as s
       left join marts.customer_profitability as p on p.customer_key = s.customer_key""",
)
SEGMENT_PRODUCTS_SQL = (
    """create or replace table memory.main.segment_products as
       select distinct b.cid, h.product_id
       from warehouse.fct_holdings as h join memory.main.segment_base as b on b.customer_key = h.customer_key
       where h.is_open and h.product_id is not null""",
)
SEGMENT_CHANNELS_SQL = (
    """create or replace table memory.main.segment_channels as
       with used as (
           select distinct customer_key, channel_id
           from warehouse.fct_customer_month_channel
           where month_start >= (select min(window_start_month) from marts.profitability_concentration)
             and month_start <= (select max(as_of_month) from marts.profitability_concentration)
             and interactions > 0 and channel_id is not null
       )
       select b.cid, used.channel_id
       from used join memory.main.segment_base as b on b.customer_key = used.customer_key""",
)
# Results of at most this many rows are kept per published version (bounded: MEMO_ENTRIES of them).
MEMO_ROWS, MEMO_ENTRIES = 5_000, 512
KEPT_ENTRIES = 64  # page layouts kept per version (pages x roles)
# A replaced version's connection is closed this long after the switch (a callback may still be reading it).
RETIRE_AFTER_SECONDS = 120.0


def _close(version: _Version) -> bool:
    """Close a version's connection; False while a cursor of it is still running a query."""
    try:
        version.con.close()
    except duckdb.ResourceInUseException:
        return False
    return True


class _Version:
    """One published file version: its read-only connection and the results read from it."""

    def __init__(self, key: tuple, con: duckdb.DuckDBPyConnection):
        self.key, self.con = key, con
        self.lock = threading.Lock()
        self.memo: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
        self.prepared: dict[str, object] = {}
        self.prepare_lock = threading.Lock()
        self.kept: OrderedDict[tuple, object] = OrderedDict()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self.lock:
            cur = self.con.cursor()
        cur.execute("use crm")
        return cur


class ServingData:
    """Queries over the published database. Queries made inside `session()` (one page render, one callback)
    share one cursor; a query outside a session takes its own. `memoise=False` turns the per-version result
    cache off (the latency benchmark measures both)."""

    def __init__(self, settings: Settings, memoise: bool = True, warm: bool = False):
        self.settings = settings
        self.memoise = memoise
        self.warm_on_publish = warm
        self._local = threading.local()
        self._lock = threading.Lock()
        self._version: _Version | None = None
        self._retired: list[tuple[float, _Version]] = []

    def version(self) -> _Version:
        """The current published version, opening it when the file changed since the last call."""
        path = self.settings.serving_path
        try:
            st = path.stat()
        except FileNotFoundError:
            raise FileNotFoundError(f"nothing published yet: {path} does not exist") from None
        key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            current = self._version
            if current is not None and current.key == key:
                return current
            now = time.monotonic()
            for when, old in [r for r in self._retired if now - r[0] > RETIRE_AFTER_SECONDS]:
                if _close(old):
                    self._retired.remove((when, old))
            if current is not None:
                self._retired.append((now, current))
            self._version = _Version(key, connect_serving(self.settings))
            if self.warm_on_publish:
                threading.Thread(target=self.warm, name="crmw-warm", daemon=True).start()
            return self._version

    def close(self) -> None:
        """Close every connection held (the app's shutdown, tests)."""
        with self._lock:
            versions = [v for _, v in self._retired] + ([self._version] if self._version else [])
            self._version, self._retired = None, []
        for version in versions:
            deadline = time.monotonic() + 30
            while not _close(version) and time.monotonic() < deadline:  # a warming thread is still reading
                time.sleep(0.05)

    @contextmanager
    def session(self) -> Iterator[None]:
        """Share one cursor among the queries made inside; closed on leaving."""
        if getattr(self._local, "active", False):
            yield
            return
        self._local.con, self._local.version, self._local.active = None, None, True
        try:
            yield
        finally:
            con = self._local.con
            self._local.con, self._local.version, self._local.active = None, None, False
            if con is not None:
                con.close()

    def scoped(self, function: Callable) -> Callable:
        """Decorate a callback so that its queries share one cursor."""
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self.session():
                return function(*args, **kwargs)
        return wrapper

    def _session_version(self) -> _Version:
        if getattr(self._local, "active", False):
            if self._local.version is None:
                self._local.version = self.version()
            return self._local.version
        return self.version()

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if getattr(self._local, "active", False):
            if self._local.con is None:
                self._local.con = self._session_version().cursor()
            yield self._local.con
            return
        con = self.version().cursor()
        try:
            yield con
        finally:
            con.close()

    def frame(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        """The query's result; small results are kept per published version (the file never changes)."""
        version = self._session_version()
        key = (sql, tuple(params))
        if self.memoise:
            with version.lock:
                hit = version.memo.get(key)
                if hit is not None:
                    version.memo.move_to_end(key)
                    return hit.copy()
        with self.connect() as con:
            result = con.execute(sql, list(params)).df()
        if self.memoise and len(result) <= MEMO_ROWS:
            with version.lock:
                version.memo[key] = result.copy()
                while len(version.memo) > MEMO_ENTRIES:
                    version.memo.popitem(last=False)
        return result

    def csv(self, sql: str, params: Sequence = ()) -> tuple[bytes, int]:
        """The query's result as UTF-8 CSV with a header, and its row count. Exports use this rather than
        frame(...).to_csv(): Arrow's C++ writer takes a few ms where pandas took ~0.3 s for 27k rows. Strings
        are always quoted; numbers, dates and empty (NULL) fields are not."""
        with self.connect() as con:
            table = con.sql(sql, params=list(params)).to_arrow_table()  # no extra copy (DB-API result)
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(table, sink, pa_csv.WriteOptions(quoting_style="needed"))
        return sink.getvalue().to_pybytes(), table.num_rows

    def keep(self, key: tuple, build: Callable[[], object]) -> object:
        """`build()` once per published version and `key` (a page's layout for a role): what it returns depends
        only on the published data. Bounded (KEPT_ENTRIES); not kept when `memoise` is off."""
        version = self._session_version()
        if self.memoise:
            with version.lock:
                if key in version.kept:
                    version.kept.move_to_end(key)
                    return version.kept[key]
        value = build()
        if self.memoise:
            with version.lock:
                version.kept[key] = value
                while len(version.kept) > KEPT_ENTRIES:
                    version.kept.popitem(last=False)
        return value

    def is_published(self) -> bool:
        return self.settings.serving_path.exists()

    # ------------------------------------------------------------------ what exists
    def tables(self) -> set[str]:
        """`schema.table` of everything published."""
        with self.connect() as con:
            rows = con.execute(
                "select table_schema, table_name from information_schema.tables where table_catalog = 'crm'"
            ).fetchall()
        return {f"{s}.{t}" for s, t in rows}

    def find(self, name: str) -> str | None:
        """The published `schema.table` of a table named `name` (in marts before warehouse), or None.

        `name` comes from FUTURE_TABLES, never from a user. Probing the table is a catalog lookup; asking
        information_schema costs a scan of every catalog (~0.1 s)."""
        if name not in FUTURE_TABLES + TARGETING_TABLES:
            raise ValueError(f"find: {name!r} is not one of {', '.join(FUTURE_TABLES + TARGETING_TABLES)}")
        version = self._session_version()
        if f"find:{name}" in version.prepared:
            return version.prepared[f"find:{name}"]
        found = None
        with self.connect() as con:
            for schema in ("marts", "warehouse"):
                try:
                    con.execute(f"select * from {schema}.{name} limit 0")
                except duckdb.CatalogException:
                    continue
                found = f"{schema}.{name}"
                break
        version.prepared[f"find:{name}"] = found
        return found

    # ------------------------------------------------------------------ executive
    def last_publish(self) -> pd.DataFrame:
        return self.frame("select run_id, published_at, data_through from meta.publish "
                          "order by published_at desc limit 1")

    def concentration(self) -> pd.DataFrame:
        return self.frame("select * from marts.profitability_concentration")

    def headline(self) -> dict:
        """The executive measures over the trailing window: revenue, cost to serve, efficiency (cost to serve
        per unit of revenue), satisfaction (mean score 1-5 of the window's interactions), customers, active
        customers (with a P&L row in the as-of month)."""
        row = self.frame(
            """
            with c as (select * from marts.profitability_concentration)
            select c.as_of_month, c.window_start_month, c.total_revenue, c.total_cost_to_serve,
                   c.total_profit, c.customers as ranked_customers, c.top_20_profit_share,
                   c.unprofitable_customer_share,
                   (select count(distinct customer_key) from warehouse.dim_customer where is_current)
                       as customers,
                   (select active_customers from marts.profitability_monthly_trend
                    where month_start = c.as_of_month) as active_customers,
                   (select avg(satisfaction_score) from warehouse.fct_interactions
                    where occurred_at >= c.window_start_month
                      and occurred_at < c.as_of_month + interval 1 month) as satisfaction
            from c
            """)
        return row.iloc[0].to_dict() if not row.empty else {}

    def monthly_trend(self) -> pd.DataFrame:
        return self.frame("select * from marts.profitability_monthly_trend order by month_start")

    def clv_total(self) -> float | None:
        """Sum of `clv` in the published customer_clv table, None while it is not built (or has no `clv`)."""
        table = self.find("customer_clv")
        if table is None:
            return None
        with self.connect() as con:
            try:
                return float(con.execute(f"select coalesce(sum(clv), 0) from {table}").fetchall()[0][0])
            except duckdb.BinderException:
                return None

    # ------------------------------------------------------------------ profitability
    def regions(self) -> list[str]:
        return self.frame("select distinct region from marts.customer_profitability order by 1")["region"].tolist()

    def deciles(self, region: str | None = None) -> pd.DataFrame:
        """marts.profitability_deciles, or the same measures over one region's customers."""
        if not region:
            return self.frame("select * from marts.profitability_deciles order by profit_decile")
        return self.frame(
            """
            with d as (
                select profit_decile, count(*) as customers, sum(case when is_unprofitable then 1 else 0 end)
                       as unprofitable_customers, sum(revenue) as revenue, sum(cost_to_serve) as cost_to_serve,
                       sum(profit) as profit, avg(profit) as avg_profit, avg(products_held) as avg_products_held,
                       sum(interactions) as interactions, sum(assisted_interactions) as assisted,
                       sum(self_service_interactions) as self_service
                from marts.customer_profitability where region = ? group by profit_decile
            )
            select *, profit / nullif(sum(profit) over (), 0) as profit_share,
                   sum(profit) over (order by profit_decile) / nullif(sum(profit) over (), 0)
                       as cumulative_profit_share,
                   assisted / nullif(interactions, 0) as assisted_interaction_share,
                   self_service / nullif(interactions, 0) as self_service_interaction_share
            from d order by profit_decile
            """,
            [region],
        )

    def whale_curve(self) -> pd.DataFrame:
        return self.frame("select * from marts.profitability_whale_curve order by percentile")

    def decile_migration(self) -> pd.DataFrame:
        return self.frame("select * from marts.profitability_decile_migration order by from_decile, to_decile")

    def shift_input(self, region: str | None = None) -> pd.DataFrame:
        """Per-decile sums channel_shift needs (it is linear, so decile sums answer as customers do)."""
        return self.frame(
            """
            select profit_decile, count(*) as customers, sum(assisted_interactions) as assisted_interactions,
                   sum(self_service_interactions) as self_service_interactions,
                   sum(cost_to_serve_assisted) as cost_to_serve_assisted,
                   sum(cost_to_serve_self_service) as cost_to_serve_self_service,
                   sum(cost_to_serve) as cost_to_serve, sum(profit) as profit
            from marts.customer_profitability where (? is null or region = ?)
            group by profit_decile order by profit_decile
            """,
            [region or None, region or None],
        )

    def segments(self) -> pd.DataFrame:
        return self.frame("select * from marts.profitability_by_segment order by dimension, segment")

    def segment_profiles(self, segment_type: str) -> pd.DataFrame | None:
        """Profiles of one kind of value-based segment (value_tier, rfm_segment, treatment), largest CLV first;
        None while segment_profiles is not published."""
        table = self.find("segment_profiles")
        if table is None:
            return None
        return self.frame(
            f"""select segment, customers, customer_share, clv_total, clv_share, clv_mean, profit_total,
                       profit_share, profit_mean, unprofitable_share, assisted_interaction_share, products_held_mean
                from {table} where segment_type = ? order by clv_total desc, segment""", [segment_type])

    def marketing_spend(self) -> pd.DataFrame:
        return self.frame("select * from marts.marketing_spend_by_purpose order by month_start, purpose")

    def target_list(self, deciles: Iterable[int], region: str | None, with_pii: bool) -> pd.DataFrame:
        """Customers of the chosen deciles (and region) as a target list; personal columns only `with_pii`."""
        return self.frame(*self._target_list_query(deciles, region, with_pii))

    def target_list_csv(self, deciles: Iterable[int], region: str | None, with_pii: bool) -> tuple[bytes, int]:
        """target_list as CSV and its row count (csv())."""
        return self.csv(*self._target_list_query(deciles, region, with_pii))

    @staticmethod
    def _target_list_query(deciles: Iterable[int], region: str | None, with_pii: bool) -> tuple[str, list]:
        """No valid decile chosen: a query with the list's columns and no rows."""
        chosen = sorted({int(d) for d in deciles if 1 <= int(d) <= 10})
        marks = ", ".join("?" for _ in chosen) or "null"
        columns = ", ".join(f"p.{c}" for c in TARGET_COLUMNS)
        return (_with_personal_columns(
                    f"select {columns}, p.profit_rank as list_order from marts.customer_profitability as p "
                    f"where p.profit_decile in ({marks}) and (? is null or p.region = ?) "
                    f"order by p.profit_rank limit {TARGET_LIST_LIMIT}", with_pii),
                [*chosen, region or None, region or None])

    # ------------------------------------------------------------------ segments (filters, CLV, export)
    def _prepare(self, name: str, statements: Sequence[str]) -> bool:
        """Run `statements` (they create in-memory tables from the published ones) once per published version;
        False when a published table or column they read is missing. Names and SQL come from this module only."""
        version = self._session_version()
        with version.lock:
            if name in version.prepared:
                return bool(version.prepared[name])
        with version.prepare_lock:  # one preparation at a time: a second caller waits for the first's result
            if name in version.prepared:
                return bool(version.prepared[name])
            con = version.cursor()
            try:
                for statement in statements:
                    con.execute(statement)
                done = True
            except (duckdb.CatalogException, duckdb.BinderException):  # a table or a column not published
                done = False
            finally:
                con.close()
            with version.lock:
                version.prepared[name] = done
        return done

    def warm(self) -> None:
        """Read what the pages read without parameters and prepare the in-memory tables, so that the first
        views after a publish find them ready (started in a background thread when a new version opens)."""
        steps = (self.segment_base_ready, self.campaign_base_ready, self.segment_options, self.headline,
                 self.last_publish, self.monthly_trend, self.clv_total, self.deciles, self.regions, self.whale_curve,
                 self.decile_migration, self.shift_input, self.segments, self.marketing_spend, self.dq_score_trend,
                 self.dq_score_by_source, self.dq_sources, self.dq_issues, self.deliveries, self.cluster_sizes,
                 self.largest_clusters, self.model_metrics, self.campaign_lift, self.policy_comparison)
        with self.session():
            for step in steps:
                try:
                    step()
                except duckdb.Error:  # a table not published: the page says so when it is opened
                    continue

    def segment_base_ready(self) -> bool:
        """Prepare (once per published version) the compact in-memory tables the Segments filters read: one row
        per segmented customer with an integer id, and which customers hold which product (open accounts) and
        used which channel (contacts in the profitability window). A filter then scans ~10 narrow columns
        in memory instead of joining the published per-customer tables at every click."""
        if not self._prepare("segment_base", SEGMENT_BASE_SQL):
            return False
        for name, statements in (("segment_products", SEGMENT_PRODUCTS_SQL),
                                 ("segment_channels", SEGMENT_CHANNELS_SQL)):
            self._prepare(name, statements)
        return True

    def segment_options(self) -> dict[str, list]:
        """Values each Segments filter offers (distinct values present), in a stable order."""
        self.segment_base_ready()
        options = {}
        for key, (column, _) in SEGMENT_FILTERS.items():
            order = "min(tier_rank), 1" if column == "value_tier" else "1"
            if column in ("product_id", "channel_id"):
                table = SEGMENT_MEMBERSHIP[column]
                if not self._is_prepared(table):
                    options[key] = []
                    continue
                sql = f"select {column} as v from memory.main.{table} group by 1 order by 1"
            else:
                sql = (f"select {column} as v from memory.main.segment_base where {column} is not null "
                       f"group by 1 order by {order}")
            options[key] = self.frame(sql)["v"].tolist()
        return options

    def _is_prepared(self, name: str) -> bool:
        return bool(self._session_version().prepared.get(name))

    def _segment_where(self, filters: dict | None) -> tuple[str, list]:
        """WHERE clause and bound parameters of the chosen filters (keys and columns from SEGMENT_FILTERS)."""
        self.segment_base_ready()  # the tables the clause names (a dict lookup once prepared)
        clauses, params = [], []
        for key, values in normalise_filters(filters).items():
            column, kind = SEGMENT_FILTERS[key]
            marks = ", ".join("?" for _ in values)
            if column in SEGMENT_MEMBERSHIP:
                table = SEGMENT_MEMBERSHIP[column]
                if not self._is_prepared(table):
                    clauses.append("false")
                    continue
                clauses.append(f"cid in (select cid from memory.main.{table} where {column} in ({marks}))")
            else:
                clauses.append(f"{column} in ({marks})")
            params += values
        return (" and ".join(clauses) or "true"), params

    def segment_summary(self, filters: dict | None = None) -> pd.DataFrame:
        """Customers, CLV and profit per value tier of the selected customers, best tier first."""
        where, params = self._segment_where(filters)
        return self.frame(
            f"""select value_tier, min(tier_rank) as tier_rank, count(*) as customers, sum(clv) as clv_total,
                       avg(clv) as clv_mean, sum(profit) as profit_total,
                       avg(case when is_unprofitable then 1.0 else 0.0 end) as unprofitable_share
                from memory.main.segment_base where {where}
                group by value_tier order by tier_rank, value_tier""", params)

    def clv_by_tier(self, filters: dict | None = None) -> pd.DataFrame:
        """CLV quantiles (5, 25, 50, 75, 95 %) per value tier of the selected customers: the box plot."""
        where, params = self._segment_where(filters)
        return self.frame(
            f"""select value_tier, min(tier_rank) as tier_rank, count(*) as customers,
                       quantile_cont(clv, 0.05) as p05, quantile_cont(clv, 0.25) as p25,
                       quantile_cont(clv, 0.5) as p50, quantile_cont(clv, 0.75) as p75,
                       quantile_cont(clv, 0.95) as p95, avg(clv) as mean
                from memory.main.segment_base where {where} and clv is not null
                group by value_tier order by tier_rank, value_tier""", params)

    def clv_histogram(self, filters: dict | None = None, bins: int = CLV_BINS) -> pd.DataFrame:
        """Selected customers per CLV bin and value tier. The bins are fixed per published version (the 1st to
        the 99th percentile of every customer's CLV in `bins` equal steps; the two ends also hold what lies
        beyond), so filtering changes the bars, not the axis."""
        bins = int(bins)
        edges = self.frame("select quantile_cont(clv, 0.01) as lo, quantile_cont(clv, 0.99) as hi "
                           "from memory.main.segment_base")
        lo, hi = edges.iloc[0]["lo"], edges.iloc[0]["hi"]
        if pd.isna(lo) or pd.isna(hi):
            return pd.DataFrame(columns=["value_tier", "tier_rank", "bin", "bin_start", "bin_end", "customers"])
        lo, hi = float(lo), float(hi)
        width = (hi - lo) / bins if hi > lo else 1.0
        where, params = self._segment_where(filters)
        return self.frame(
            f"""with b as (
                    select value_tier, tier_rank,
                           least(greatest(cast(floor((clv - ?) / ?) as integer), 0), ?) as bin
                    from memory.main.segment_base where {where} and clv is not null
                )
                select value_tier, min(tier_rank) as tier_rank, bin, ? + bin * ? as bin_start,
                       ? + (bin + 1) * ? as bin_end, count(*) as customers
                from b group by value_tier, bin order by tier_rank, value_tier, bin""",
            [lo, width, bins - 1, *params, lo, width, lo, width])

    def segment_target_list(self, filters: dict | None, with_pii: bool) -> pd.DataFrame:
        """The selected customers as a target list, highest CLV first (at most TARGET_LIST_LIMIT); personal
        columns only `with_pii`."""
        return self.frame(*self._segment_target_query(filters, with_pii))

    def segment_target_list_csv(self, filters: dict | None, with_pii: bool) -> tuple[bytes, int]:
        """segment_target_list as CSV and its row count (csv())."""
        return self.csv(*self._segment_target_query(filters, with_pii))

    def _segment_target_query(self, filters: dict | None, with_pii: bool) -> tuple[str, list]:
        where, params = self._segment_where(filters)
        columns = ", ".join(f"b.{c}" for c in SEGMENT_EXPORT_COLUMNS)
        order = "b.clv desc nulls last, b.customer_key"
        return (_with_personal_columns(
                    f"select {columns}, row_number() over (order by {order}) as list_order "
                    f"from (select * from memory.main.segment_base where {where}) as b "
                    f"order by {order} limit {TARGET_LIST_LIMIT}", with_pii),
                list(params))

    # ------------------------------------------------------------------ campaigns
    def campaign_performance(self, dimension: str = "value_tier") -> pd.DataFrame | None:
        """Past campaigns by campaign and segment of one dimension (CAMPAIGN_DIMENSIONS): contacts and
        responders (contacted, not control), response rate, cost (contacts x cost per contact), response value,
        and the control group's response rate. Segments are the customers' current ones (as of the last
        refresh), not those at contact time. None while the tables it needs are not published."""
        if dimension not in CAMPAIGN_DIMENSIONS:
            raise ValueError(f"campaign_performance: {dimension!r} is not one of {', '.join(CAMPAIGN_DIMENSIONS)}")
        if not self.campaign_base_ready():
            return None
        order = "min(tier_rank)" if dimension == "value_tier" else f"min({dimension})"
        return self.frame(
            f"""select campaign_name, start_date, coalesce(cast({dimension} as varchar), '(not segmented)') as segment,
                       sum(contacts) as contacts, sum(responders) as responders,
                       sum(responders) / nullif(sum(contacts), 0) as response_rate,
                       sum(contact_cost) as cost, sum(response_value) as revenue,
                       sum(control_responders) / nullif(sum(controls), 0) as control_response_rate
                from memory.main.campaign_base
                group by campaign_name, start_date, 3
                order by start_date, campaign_name, {order} nulls last, 3""")

    def campaign_segments(self, dimension: str = "value_tier") -> pd.DataFrame | None:
        """campaign_performance summed over all campaigns: one row per segment."""
        if dimension not in CAMPAIGN_DIMENSIONS:
            raise ValueError(f"campaign_segments: {dimension!r} is not one of {', '.join(CAMPAIGN_DIMENSIONS)}")
        if not self.campaign_base_ready():
            return None
        order = "min(tier_rank)" if dimension == "value_tier" else f"min({dimension})"
        return self.frame(
            f"""select coalesce(cast({dimension} as varchar), '(not segmented)') as segment,
                       count(distinct campaign_name) as campaigns, sum(contacts) as contacts,
                       sum(responders) as responders, sum(responders) / nullif(sum(contacts), 0) as response_rate,
                       sum(contact_cost) as cost, sum(response_value) as revenue,
                       sum(control_responders) / nullif(sum(controls), 0) as control_response_rate
                from memory.main.campaign_base group by 1 order by {order} nulls last, 1""")

    def campaign_base_ready(self) -> bool:
        """Prepare (once per published version) campaign contacts summed per campaign and segment combination."""
        return (self._prepare("campaign_base", CAMPAIGN_BASE_SQL)
                or self._prepare("campaign_base_unsegmented", CAMPAIGN_BASE_UNSEGMENTED_SQL))

    def campaign_lift(self) -> pd.DataFrame | None:
        """marts.campaign_lift (the targeting model's gains by score decile), None while not computed."""
        table = self.find("campaign_lift")
        return None if table is None else self.frame(f"select * from {table} order by decile")

    def campaign_scores(self) -> pd.DataFrame | None:
        """Every customer's published response score with its treatment (orchestration.targeting.scores_sql),
        None while the targeting model has not published marts.campaign_scores."""
        from orchestration.targeting import scores_sql

        if self.find("campaign_scores") is None:
            return None
        segmented = {"customer_segments"} if self.find("customer_segments") == "marts.customer_segments" else set()
        return self.frame(scores_sql({"campaign_scores", *segmented}))

    def policy_comparison(self) -> pd.DataFrame | None:
        """marts.policy_comparison (random 1-in-12 vs targeted at the same budget), None while not computed."""
        table = self.find("policy_comparison")
        return None if table is None else self.frame(f"select * from {table} order by policy")

    # ------------------------------------------------------------------ data quality and identity
    def dq_scores(self) -> pd.DataFrame:
        return self.frame("select source_system, delivery_date, area, score from marts.data_quality_scores "
                          "order by delivery_date, source_system, area")

    def dq_score_trend(self) -> pd.DataFrame:
        """Mean score per area and delivery day over all source systems (what scores_over_time draws)."""
        return self.frame("select delivery_date, area, avg(score) as score from marts.data_quality_scores "
                          "group by delivery_date, area order by delivery_date, area")

    def dq_score_by_source(self) -> pd.DataFrame:
        """Mean score per source system and area over all loads (what scores_by_source draws)."""
        return self.frame("select source_system, area, avg(score) as score from marts.data_quality_scores "
                          "group by source_system, area order by source_system, area")

    def dq_sources(self) -> list[str]:
        return self.frame("select distinct source_system from marts.data_quality_scores order by 1"
                          )["source_system"].tolist()

    def dq_issues(self, source_system: str | None = None) -> pd.DataFrame:
        return self.frame(
            "select source_system, entity, field_name, rule_name, area, rows_affected, percent_affected, "
            "deliveries_affected, example_values, detail from marts.data_quality_issues "
            "where (? is null or source_system = ?) order by rows_affected desc",
            [source_system or None, source_system or None],
        )

    def deliveries(self) -> pd.DataFrame:
        return self.frame("select * from meta.deliveries order by source_system, entity")

    def cluster_sizes(self) -> pd.DataFrame:
        return self.frame(
            "select records, count(*) as customers from (select customer_key, count(*) as records "
            "from warehouse.dim_customer_xref group by customer_key) group by records order by records"
        )

    def largest_clusters(self, limit: int = 20) -> pd.DataFrame:
        return self.frame(
            """
            with largest as (
                select customer_key, count(*) as records, min(match_probability) as weakest_link
                from warehouse.dim_customer_xref group by customer_key having count(*) > 1
                order by records desc, customer_key limit ?
            ), systems as (
                select distinct customer_key, source_system
                from warehouse.dim_customer_xref where customer_key in (select customer_key from largest)
            )
            select l.customer_key, l.records, string_agg(s.source_system, ', ' order by s.source_system)
                   as source_systems, l.weakest_link
            from largest as l join systems as s using (customer_key)
            group by l.customer_key, l.records, l.weakest_link
            order by l.records desc, l.customer_key
            """,
            [int(limit)],
        )

    # ------------------------------------------------------------------ customer lookup
    def find_customer(self, text: str) -> str | None:
        """The customer_key for a customer key or a source customer id, or None."""
        rows = self.frame(
            "select customer_key from warehouse.dim_customer_xref where customer_key = ? or source_customer_id = ? "
            "order by customer_key = ? desc limit 1",
            [text, text, text],
        )
        return None if rows.empty else str(rows.iloc[0, 0])

    def customer_profile(self, customer_key: str, with_pii: bool) -> pd.DataFrame:
        columns = list(PROFILE_COLUMNS) + (list(PII_COLUMNS) if with_pii else [])
        return self.frame(f"select {', '.join(columns)} from warehouse.dim_customer "
                          "where customer_key = ? and is_current order by source_system, source_customer_id",
                          [customer_key])

    def customer_sources(self, customer_key: str) -> pd.DataFrame:
        return self.frame("select source_system, source_customer_id, match_probability "
                          "from warehouse.dim_customer_xref where customer_key = ? order by 1, 2", [customer_key])

    def customer_pnl(self, customer_key: str) -> pd.DataFrame:
        return self.frame("select * from marts.customer_profitability where customer_key = ?", [customer_key])

    def customer_months(self, customer_key: str) -> pd.DataFrame:
        return self.frame("select month_start, revenue, cost_to_serve, profit, products_held, interactions "
                          "from warehouse.fct_customer_month where customer_key = ? and not is_future_month "
                          "order by month_start", [customer_key])

    # ------------------------------------------------------------------ maturity
    def maturity(self, part: str) -> pd.DataFrame | None:
        """marts.maturity_<part> (evidence, assessment, gaps, sponsors) in the order the refresh wrote it (DuckDB
        keeps insertion order), None while not published."""
        if part not in MATURITY_PARTS:
            raise ValueError(f"maturity: {part!r} is not one of {', '.join(MATURITY_PARTS)}")
        table = self.find(f"maturity_{part}")
        return None if table is None else self.frame(f"select * from {table}")

    # ------------------------------------------------------------------ pipeline
    def model_metrics(self) -> pd.DataFrame | None:
        table = self.find("model_metrics")
        return None if table is None else self.frame(f"select * from {table}")


def normalise_filters(filters: dict | None) -> dict[str, list]:
    """Known filter keys with their chosen values as a clean list (a single value becomes a list; empty and
    unknown filters are dropped; decile values must be whole numbers 1-10). Values stay values: they are bound
    as parameters, never spliced into SQL."""
    out: dict[str, list] = {}
    for key, values in (filters or {}).items():
        if key not in SEGMENT_FILTERS or values in (None, "", []):
            continue
        values = values if isinstance(values, list | tuple) else [values]
        kind = SEGMENT_FILTERS[key][1]
        if kind is int:
            clean = sorted({int(v) for v in values if str(v).strip().lstrip("-").isdigit() and 1 <= int(v) <= 10})
            if not clean:
                clean = [-1]  # a decile filter with no valid decile selects nobody rather than everybody
        else:
            clean = list(dict.fromkeys(str(v) for v in values if v is not None))
        out[key] = clean[:MAX_FILTER_VALUES]
    return out


def _with_personal_columns(chosen: str, with_pii: bool) -> str:
    """The rows of `chosen` (a query that picks and limits a target list, ordered by its column list_order) in
    that order and without list_order, with PII_COLUMNS (one current record per customer) for roles that may
    see them. The personal record is looked up for the chosen customers only: deduplicating every current
    record first took ~0.4 s of a 100k-row export at 1M customers."""
    if not with_pii:
        return f"select * exclude (list_order) from ({chosen}) as chosen order by list_order"
    personal = ", ".join(f"d.{c}" for c in PII_COLUMNS)
    return (f"with chosen as ({chosen}) "
            f"select chosen.* exclude (list_order), {personal} from chosen "
            f"left join (select customer_key, valid_from, {', '.join(PII_COLUMNS)} from warehouse.dim_customer "
            "where is_current and customer_key in (select customer_key from chosen) "
            "qualify row_number() over (partition by customer_key order by valid_from desc) = 1) as d "
            "using (customer_key) order by chosen.list_order")
