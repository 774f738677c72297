"""Identity resolution over a DuckDB warehouse: link customer records into customers with stable keys.

`resolve(con, records_relation, config)` reads every current customer record, scores only what is new or
changed against what is already linked, clusters, gives each cluster a customer_key that survives
refreshes, and writes (schema `identity`):

- `records`: the key registry, one row per source record: its customer_key and a hash of what it
  matched on (a changed hash means the record is scored again);
- `links`: the pairs kept as links (match_probability >= threshold, not split off), so the next run can
  rebuild clusters without scoring old records again;
- `key_events`: the log of keys created, merged, split and of records moving between keys;
- `model`: the trained Splink model (trained on the first run, then reused until this version's comparisons
  or blocking rules differ from the stored model's: then trained again, and every record scored);
- `customer_xref` and `golden_customers`: what the dbt ODS reads.

Stable-key rule. After clustering, each existing key goes to the cluster holding most of its
records (ties: the cluster holding the record the key was made for, then the earliest-seen record). A
cluster claimed by several keys keeps the one with most records (ties: the oldest key) and the others are
merged into it (`merge`). A cluster claimed by no key gets a new one: md5('<source_system>|<customer_id>')
of its earliest record, the same key an id-only customer gets, so a record keeps its key from being an id
to being a customer. When that key is taken, the cluster was split off from its founder's cluster and gets
md5 of that text plus '|' and the run time (`split` when its records had a key before, `new` otherwise).
Records moving between two keys that both live on are logged as `move`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from models_ml.identity.clusters import components, split_conflicts
from models_ml.identity.linkage import LinkageModel
from models_ml.identity.normalise import MATCH_COLUMNS, normalised_records_sql
from models_ml.identity.survivorship import golden_records_sql, validate_rules

SCHEMA = "identity"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdentityConfig:
    # Match probability at or above which two records link: 0.5, a match more likely than not. Wrong links
    # are caught by the conflict split, which raises it within a contradicted cluster.
    threshold: float = 0.5
    contradiction_bits: float = 15.0  # evidence against (bits) that splits a cluster holding the pair
    survivorship: dict[str, str] = field(default_factory=dict)  # attribute group -> rule
    source_priority: tuple[str, ...] = ()
    seed: int = 42
    backend: str = "duckdb"  # where Splink trains and scores: duckdb or spark (linkage.BACKENDS)


@dataclass
class ResolveReport:
    records: int
    new_records: int
    changed_records: int
    removed_records: int
    pairs_scored: int
    links: int
    customers: int
    trained: bool
    events: dict[str, int]
    seconds: dict[str, float]


def create_registry(con: duckdb.DuckDBPyConnection) -> None:
    """The identity schema and its registry tables, when missing."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(f"""create table if not exists {SCHEMA}.records (
        customer_source_key varchar primary key, source_system varchar, customer_id varchar,
        match_hash varchar, customer_key varchar, first_seen_at timestamp, updated_at timestamp)""")
    con.execute(f"""create table if not exists {SCHEMA}.links (
        source_key_l varchar, source_key_r varchar, match_probability double)""")
    con.execute(f"""create table if not exists {SCHEMA}.key_events (
        run_at timestamp, event varchar, customer_key varchar, other_key varchar, records bigint)""")
    con.execute(f"""create table if not exists {SCHEMA}.keys (
        customer_key varchar primary key, created_at timestamp, founding_source_key varchar)""")
    con.execute(f"""create table if not exists {SCHEMA}.model (
        trained_at timestamp, records bigint, model_json varchar)""")


def _index(ids: pa.Array, column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.index_in(column, value_set=ids).to_numpy(zero_copy_only=False)


def resolve(
    con: duckdb.DuckDBPyConnection, records_relation: str, config: IdentityConfig, now: dt.datetime | None = None
) -> ResolveReport:
    """Resolve the customer records of `records_relation` (one row per source record: source_system,
    customer_id, the contract's customer columns, created_at, updated_at, _delivery_date and the flags
    has_sentinel_birth_date, has_invalid_email) into customers; see the module docstring."""
    validate_rules(config.survivorship)
    now = now or dt.datetime.now().replace(microsecond=0)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    create_registry(con)
    hash_expr = "md5(concat_ws('|', " + ", ".join(f"coalesce({c}, '')" for c in MATCH_COLUMNS) + "))"
    con.execute(f"""create or replace temp table identity_current as
        select *, {hash_expr} as match_hash from ({normalised_records_sql(records_relation)}) as n""")
    current = con.sql(
        f"select unique_id, source_system, customer_id, match_hash, has_match_data, {', '.join(MATCH_COLUMNS)} "
        "from identity_current order by unique_id"
    ).to_arrow_table()
    con.execute(f"""create or replace temp table identity_status as
        select c.unique_id, c.match_hash, r.customer_key as old_key,
            case when r.customer_source_key is null then 'new'
                 when r.match_hash <> c.match_hash then 'changed' else 'same' end as status
        from identity_current as c left join {SCHEMA}.records as r on r.customer_source_key = c.unique_id""")
    (removed,) = con.execute(
        f"select count(*) from {SCHEMA}.records "
        "where customer_source_key not in (select unique_id from identity_current)"
    ).fetchall()[0]
    model_rows = con.execute(f"select model_json from {SCHEMA}.model order by trained_at desc limit 1").fetchall()
    model = LinkageModel(model_rows[0][0], config.backend) if model_rows else None
    if model is not None and not model.is_current:
        logger.warning("the stored linkage model has other comparisons or blocking rules than this version's: "
                       "training again and scoring every record (keys stay by the stable-key rule)")
        model = None
    matchable = current.filter(pc.field("has_match_data"))
    trained = model is None
    timings["prepare"] = time.perf_counter() - start

    start = time.perf_counter()
    if trained:
        model = LinkageModel.train(matchable, seed=config.seed, backend=config.backend)
        con.execute(f"insert into {SCHEMA}.model values (?, ?, ?)", [now, len(matchable), model.model_json])
    timings["train"] = time.perf_counter() - start

    start = time.perf_counter()
    status = con.sql("select unique_id, status from identity_status").to_arrow_table()
    fresh_ids = status.filter(pc.not_equal(status["status"], "same"))["unique_id"]
    counts = dict(con.execute("select status, count(*) from identity_status group by 1").fetchall())
    if trained or counts.get("same", 0) + counts.get("changed", 0) == 0:
        scored = model.score_all(matchable, config.threshold)
        old_links = scored.schema.empty_table()
    else:
        is_fresh = pc.is_in(matchable["unique_id"], value_set=fresh_ids)
        scored = model.score_new(matchable.filter(pc.invert(is_fresh)), matchable.filter(is_fresh),
                                 config.threshold, term_frequency_base=matchable)
        # Stored links whose records are unchanged and still present.
        old_links = con.sql(f"""
            select l.source_key_l as unique_id_l, l.source_key_r as unique_id_r, l.match_probability
            from {SCHEMA}.links as l
            inner join identity_status as a on a.unique_id = l.source_key_l and a.status = 'same'
            inner join identity_status as b on b.unique_id = l.source_key_r and b.status = 'same'
        """).to_arrow_table()
    timings["score"] = time.perf_counter() - start

    start = time.perf_counter()
    ids = current["unique_id"].combine_chunks()
    n = len(ids)
    edges = pa.concat_tables([old_links.cast(scored.schema), scored])
    left, right = _index(ids, edges["unique_id_l"]), _index(ids, edges["unique_id_r"])
    labels = components(n, left, right)
    # Clusters to check again: those holding a new or changed record, or a record whose old cluster lost
    # a record (a removed or changed record may have been the only bridge).
    fresh = pc.is_in(ids, value_set=fresh_ids).to_numpy(zero_copy_only=False)
    touched_keys = con.execute(f"""
        select distinct r.customer_key from {SCHEMA}.records as r
        left join identity_status as s on s.unique_id = r.customer_source_key
        where s.unique_id is null or s.status = 'changed'
    """).fetchall()
    old_key = con.sql("select old_key from identity_status order by unique_id").to_arrow_table()["old_key"]
    lost = pc.is_in(old_key, value_set=pa.array([k for (k,) in touched_keys], pa.string())).to_numpy(
        zero_copy_only=False) if touched_keys else np.zeros(n, dtype=bool)
    size = np.bincount(labels)
    touched_label = np.zeros(labels.max() + 1 if n else 0, dtype=bool)
    touched_label[labels[fresh | lost]] = True
    check = touched_label[labels] & (size[labels] > 1)
    if check.any():
        members = current.filter(pa.array(check))
        within = model.score_within_groups(members, pa.array(labels[check]), matchable,
                                           relevant=(config.threshold, config.contradiction_bits))
        wl, wr = _index(ids, within["unique_id_l"]), _index(ids, within["unique_id_r"])
        _, kept = split_conflicts(
            n, wl, wr, within["match_probability"].to_numpy(),
            within["contradiction"].to_numpy() > config.contradiction_bits, config.threshold,
        )
        checked_links = within.filter(pa.array(kept)).select(["unique_id_l", "unique_id_r", "match_probability"])
    else:
        checked_links = edges.schema.empty_table()
    untouched = ~check[left]
    links = pa.concat_tables([edges.filter(pa.array(untouched)), checked_links.cast(edges.schema)])
    labels = components(n, _index(ids, links["unique_id_l"]), _index(ids, links["unique_id_r"]))
    timings["cluster"] = time.perf_counter() - start

    start = time.perf_counter()
    con.register("identity_links_new", links)
    con.register("identity_labels", pa.table({"unique_id": ids, "label": labels}))
    events = _assign_keys(con, now)
    con.execute(f"delete from {SCHEMA}.links")
    con.execute(f"insert into {SCHEMA}.links select unique_id_l, unique_id_r, match_probability "
                "from identity_links_new")
    con.execute(f"""create or replace table {SCHEMA}.customer_xref as
        select r.source_system, r.customer_id as source_customer_id, r.customer_source_key, r.customer_key,
            coalesce(p.match_probability, 1.0) as match_probability
        from {SCHEMA}.records as r
        left join (
            select unique_id, max(match_probability) as match_probability from (
                select unique_id_l as unique_id, match_probability from identity_links_new
                union all select unique_id_r, match_probability from identity_links_new
            ) as ends group by unique_id
        ) as p on p.unique_id = r.customer_source_key""")
    con.execute(f"""create or replace temp view identity_source_records as
        select source_system || '|' || customer_id as customer_source_key, * from {records_relation}""")
    golden = golden_records_sql("identity_source_records", f"{SCHEMA}.customer_xref", config.survivorship,
                                config.source_priority)
    con.execute(f"create or replace table {SCHEMA}.golden_customers as {golden}")
    con.unregister("identity_links_new")
    con.unregister("identity_labels")
    timings["keys"] = time.perf_counter() - start
    (customers,) = con.execute(f"select count(*) from {SCHEMA}.golden_customers").fetchall()[0]
    return ResolveReport(
        records=n, new_records=counts.get("new", 0), changed_records=counts.get("changed", 0),
        removed_records=int(removed), pairs_scored=len(scored), links=len(links), customers=int(customers),
        trained=trained, events=events, seconds={k: round(v, 2) for k, v in timings.items()},
    )


def _assign_keys(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> dict[str, int]:
    """Give every cluster of identity_labels a customer_key by the stable-key rule, log what changed and
    write the registry. Returns the number of events of each kind."""
    con.execute(f"""create or replace temp table identity_assign as
        with labelled as (
            select l.unique_id, l.label, s.old_key, s.match_hash, coalesce(r.first_seen_at, ?) as first_seen_at
            from identity_labels as l
            inner join identity_status as s on s.unique_id = l.unique_id
            left join {SCHEMA}.records as r on r.customer_source_key = l.unique_id
        ),
        founders as (
            select label, arg_min(unique_id, struct_pack(f := first_seen_at, u := unique_id)) as founder
            from labelled group by label
        ),
        votes as (
            select l.old_key, l.label, count(*) as n,
                max(case when l.unique_id = k.founding_source_key then 1 else 0 end) as has_founder,
                min(l.first_seen_at) as seen, min(l.unique_id) as first_id
            from labelled as l inner join {SCHEMA}.keys as k on k.customer_key = l.old_key
            group by l.old_key, l.label
        ),
        homes as (  -- each old key goes to the cluster holding most of its records (ties: its founder's)
            select old_key, arg_max(label, struct_pack(n := n, f := has_founder, s := -epoch(seen),
                l := -label)) as label, max(n) as n
            from votes group by old_key
        ),
        winners as (  -- each cluster keeps the biggest key that chose it (ties: the oldest key)
            select h.label, arg_max(h.old_key, struct_pack(n := h.n, c := -epoch(k.created_at), k := h.old_key))
                as customer_key
            from homes as h inner join {SCHEMA}.keys as k on k.customer_key = h.old_key
            group by h.label
        )
        select l.*, f.founder, w.customer_key as kept_key
        from labelled as l
        inner join founders as f on f.label = l.label
        left join winners as w on w.label = l.label""", [now])
    # New keys for clusters without one: md5 of the founder, or of founder|run time when that key exists.
    con.execute(f"""create or replace temp table identity_new_keys as
        with need as (select distinct label, founder from identity_assign where kept_key is null),
        candidate as (select label, founder, md5(founder) as k from need)
        select label, founder,
            case when exists (select 1 from {SCHEMA}.keys as x where x.customer_key = candidate.k)
                 then md5(founder || '|' || cast(? as varchar)) else k end as customer_key
        from candidate""", [now])
    con.execute("""create or replace temp table identity_final as
        select a.unique_id, a.label, a.old_key, a.match_hash, a.first_seen_at,
            coalesce(a.kept_key, n.customer_key) as customer_key, a.kept_key is null as is_new_key, a.founder
        from identity_assign as a left join identity_new_keys as n on n.label = a.label""")
    con.execute(f"""insert into {SCHEMA}.keys
        select distinct customer_key, cast(? as timestamp), founder from identity_final where is_new_key""", [now])
    con.execute("""create or replace temp table identity_events as
        -- a key no cluster kept: merged into the key of the cluster its records went to
        select 'merge' as event, h.old_key as customer_key, f.customer_key as other_key, count(*) as records
        from identity_final as f
        inner join (select distinct old_key from identity_final where old_key is not null) as h
            on h.old_key = f.old_key
        where h.old_key not in (select customer_key from identity_final)
        group by h.old_key, f.customer_key
        union all
        -- a new key for records that had another: split off from that key
        select 'split', customer_key, old_key, count(*) from identity_final
        where is_new_key and old_key is not null group by customer_key, old_key
        union all
        select 'new', customer_key, null, count(*) from identity_final
        where is_new_key group by customer_key having count(old_key) = 0
        union all
        -- records that moved between two keys that both live on
        select 'move', customer_key, old_key, count(*) from identity_final
        where not is_new_key and old_key is not null and old_key <> customer_key
            and old_key in (select customer_key from identity_final)
        group by customer_key, old_key""")
    con.execute(f"insert into {SCHEMA}.key_events select cast(? as timestamp), * from identity_events", [now])
    con.execute(f"""create or replace table {SCHEMA}.records as
        select c.unique_id as customer_source_key, c.source_system, c.customer_id, f.match_hash, f.customer_key,
            f.first_seen_at, cast(? as timestamp) as updated_at
        from identity_final as f inner join identity_current as c on c.unique_id = f.unique_id""", [now])
    return dict(con.execute("select event, count(*) from identity_events group by 1").fetchall())
