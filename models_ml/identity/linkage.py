"""The probabilistic linkage model (Splink on DuckDB or on Spark): comparisons, blocking, unsupervised
training and scoring of record pairs, all at once or incrementally (new records against the ones already
linked).

Records are the rows of `normalise.normalised_records_sql`; the model links within and across source
systems (one table, `dedupe_only`). It is trained without labels: u probabilities from random pairs, m
probabilities by expectation maximisation in two sessions blocked on different fields (each field is
trained in at least one), and the prior from deterministic rules. The same settings run on either Splink
backend (`backend`): "duckdb", its own in-memory DuckDB, or "spark", the process's active Spark session (a
local one is started when there is none), with Splink's string-similarity UDF jar. Neither fetches anything.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import tempfile
import uuid
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import splink.comparison_level_library as cll
from splink import DuckDBAPI, Linker, SettingsCreator
from splink.comparison_library import CustomComparison
from splink.internals.database_api import DatabaseAPI
from splink.internals.exceptions import EMTrainingException

from models_ml.identity import BACKENDS
from models_ml.identity.nicknames import FORMS_COLUMN, with_name_forms
from models_ml.identity.normalise import MATCH_COLUMNS

# Columns whose exact matches are weighed by how common the value is (a shared 'Smith' says less than a
# shared 'Vandersteen').
TF_COLUMNS = ("first_name_n", "last_name_n", "email_n", "email_local", "phone_n", "postcode_n")

# Candidate pairs are those that agree on at least one of these. Each is selective (small blocks) and
# together they keep recall: a typo in the name still agrees on email, phone or date of birth; a missing
# email still agrees on name and postcode.
PREDICTION_BLOCKING_RULES = (
    "l.email_n = r.email_n",
    "l.phone_n = r.phone_n",
    "l.national_id_n = r.national_id_n",
    "l.dob = r.dob and substr(l.last_name_n, 1, 1) = substr(r.last_name_n, 1, 1)",
    "l.dob = r.dob and substr(l.first_name_n, 1, 1) = substr(r.first_name_n, 1, 1)",
    # A common full name alone is not selective: its blocks grow with the square of the population (3.5
    # billion pairs at 1M demo customers before the demo drew census names, which ran out of memory), so
    # with the birth year or the postcode district.
    "l.first_name_n = r.first_name_n and l.last_name_n = r.last_name_n and substr(l.dob, 1, 4) = substr(r.dob, 1, 4)",
    "l.first_name_n = r.first_name_n and l.last_name_n = r.last_name_n and l.postcode_district = r.postcode_district",
    "l.last_name_n = r.last_name_n and l.postcode_n = r.postcode_n",
    "l.first_name_n = r.first_name_n and l.postcode_n = r.postcode_n",
    "l.address_n = r.address_n and l.postcode_n = r.postcode_n",
    "l.email_local = r.email_local",
    # The full name alone, when few records bear it: a rare name is evidence enough to look at the pair
    # (a contact-centre record with a phone and a marketing one with an email share nothing else).
    "l.rare_full_name = r.rare_full_name",
)
# Records a full name may have and still be rare (about two persons' worth); beyond it the name is common
# and its block would grow with the square of the population.
RARE_FULL_NAME_RECORDS = 10
# Rules that admit next to no false positives, for the prior (probability two random records match).
DETERMINISTIC_RULES = (
    "l.email_n = r.email_n and l.last_name_n = r.last_name_n",
    "l.phone_n = r.phone_n and l.last_name_n = r.last_name_n",
    "l.national_id_n = r.national_id_n",
    "l.dob = r.dob and l.first_name_n = r.first_name_n and l.last_name_n = r.last_name_n",
)
DETERMINISTIC_RECALL = 0.8
# EM sessions: the blocked field of one session is trained in the other.
EM_BLOCKING_RULES = (
    "l.dob = r.dob",
    "l.email_n = r.email_n",
    "l.postcode_n = r.postcode_n and l.last_name_n = r.last_name_n",
)

# Records above which score_all scores in chunks (score_all).
CHUNK_RECORDS = 1_500_000
# Candidate customers (groups) larger than this are checked on their blocked pairs only (score_within_groups).
LARGE_GROUP = 50
# Shares of the machine's memory for Splink's DuckDB and for the registry's (orchestration/identity.py);
# beyond them DuckDB spills. At 1M demo customers on 24 GB: 0.35/0.25 peaked at 14.0 GiB in 224 s,
# 0.10/0.08 at 7.7 GiB in 258 s (README, Identity resolution).
SPLINK_MEMORY_SHARE, REGISTRY_MEMORY_SHARE = 0.10, 0.08

logger = logging.getLogger(__name__)


def capped_duckdb(share: float, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection allowed `share` of the machine's memory, spilling to a temporary folder beyond
    it. Identity holds two DuckDB instances in one process (the registry file and Splink's in-memory
    database); each defaults to 80% of memory, and together they ran out at 1M demo customers. The spill
    folder does not exist yet: DuckDB makes it when it first spills and removes it when the database closes
    (a folder made here would stay behind, empty)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    spill = os.path.join(tempfile.gettempdir(), f"crmw-duckdb-spill-{uuid.uuid4().hex}")
    return duckdb.connect(database, config={"memory_limit": f"{int(total * share) >> 20}MB",
                                            "temp_directory": spill})


def splink_api(backend: str = "duckdb") -> DatabaseAPI:
    """A fresh Splink database API on `backend`: "duckdb" (in-memory) or "spark" (the active session)."""
    if backend == "duckdb":
        return DuckDBAPI(capped_duckdb(SPLINK_MEMORY_SHARE))
    if backend == "spark":
        session = spark_session()
        if session.sparkContext.getCheckpointDir() is None:
            # Splink breaks long query lineages by writing intermediate tables under the checkpoint folder.
            session.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="crmw-splink-"))
        return _spark_api_class()(spark_session=session, num_partitions_on_repartition=2)
    raise ValueError(f"backend = {backend!r} is not a Splink backend; known: {', '.join(BACKENDS)}")


@functools.cache  # one subclass per process, not one per Splink call
def _spark_api_class() -> type:
    """Splink's SparkAPI, but writing its SQL with sqlglot's own Spark dialect.

    Splink's SparkAPI transpiles every statement to its dialect "customspark", a subclass of sqlglot's Spark
    generator whose one change writes a cast of a number literal to double as a double literal (`0.5D`), so
    Spark does not read a long literal as a decimal of more than 38 digits. dagster-dbt installs sqlglot[rs],
    whose sqlglotc compiles sqlglot with mypyc, and compiled classes refuse interpreted subclasses ("interpreted
    classes cannot inherit from compiled"), so that dialect cannot be used here. The same change is made on
    the parsed statement instead, and sqlglotc stays installed."""
    import sqlglot
    from splink import SparkAPI
    from sqlglot import exp

    def double_literals(node: exp.Expression) -> exp.Expression:
        if (isinstance(node, exp.Cast | exp.TryCast) and node.to.is_type(exp.DataType.Type.DOUBLE)
                and isinstance(node.this, exp.Literal) and not node.this.is_string and node.this.name != "Infinity"):
            return exp.var(f"{node.this.name}D")
        return node

    class CompiledSqlglotSparkAPI(SparkAPI):
        def _setup_for_execute_sql(self, sql: str, physical_name: str) -> str:
            tree = sqlglot.parse_one(sql, read="spark").transform(double_literals)
            return tree.sql(dialect="spark", pretty=True)

        def register(self, table, *, dataset_display_name=None, table_name=None):
            # Input tables are temporary views of the one session, which outlive this API object: a name
            # registered by an earlier model use (training, then scoring) is replaced, as a fresh DuckDB is.
            if table_name is not None and not isinstance(table, str):
                self.spark.catalog.dropTempView(table_name)
            return super().register(table, dataset_display_name=dataset_display_name, table_name=table_name)

    return CompiledSqlglotSparkAPI


def spark_session():
    """The active Spark session, else a local one with Splink's similarity UDFs (the jar ships with Splink).
    A session started elsewhere must list that jar in spark.jars (orchestration.warehouses.spark_conf does)."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        return session
    from splink.backends.spark import similarity_jar_location

    return (SparkSession.builder.appName("crm-warehouse-linkage").master("local[2]")
            .config("spark.jars", similarity_jar_location()).config("spark.sql.shuffle.partitions", "2")
            .config("spark.ui.enabled", "false").getOrCreate())


def _comparison(column: str, *levels, tf: bool = False) -> CustomComparison:
    """Null, exact match (weighed by term frequency when `tf`), then `levels`, then everything else."""
    return CustomComparison(
        output_column_name=column,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column, term_frequency_adjustments=tf),
            *levels,
            cll.ElseLevel(),
        ],
    )


def comparisons() -> list[CustomComparison]:
    """One comparison per field, levels from the strongest agreement to none."""
    return [
        _comparison(
            "first_name_n",
            # Jim and James, Bill and Will: a nickname is often far from its name by any string distance.
            cll.ArrayIntersectLevel(FORMS_COLUMN, 1).configure(label_for_charts="nickname variants"),
            cll.JaroWinklerLevel("first_name_n", 0.92),
            cll.JaroWinklerLevel("first_name_n", 0.80),
            tf=True,
        ),
        _comparison(
            "last_name_n", cll.JaroWinklerLevel("last_name_n", 0.92), cll.JaroWinklerLevel("last_name_n", 0.80),
            tf=True,
        ),
        _comparison(
            "dob",
            cll.CustomLevel("dob_l = dob_swapped_r or dob_swapped_l = dob_r", "day and month swapped"),
            cll.LevenshteinLevel("dob", 1).configure(label_for_charts="one character different"),
        ),
        _comparison(
            "email_n",
            # Local parts are built from names: 'mohammadrezaei' at two providers is often two namesakes.
            cll.CustomLevel("email_local_l = email_local_r", "same local part").configure(
                tf_adjustment_column="email_local", tf_adjustment_weight=1.0
            ),
            cll.JaroWinklerLevel("email_local", 0.90),
            tf=True,
        ),
        _comparison("phone_n", tf=True),
        _comparison("national_id_n"),
        _comparison(
            "postcode_n", cll.CustomLevel("postcode_district_l = postcode_district_r", "same district"), tf=True
        ),
        _comparison("address_n", cll.JaroWinklerLevel("address_n", 0.90)),
    ]


def settings_creator() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=list(PREDICTION_BLOCKING_RULES),
        additional_columns_to_retain=["source_system"],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=20,
        em_convergence=0.001,
    )


RECORD_COLUMNS = ("unique_id", "source_system", *MATCH_COLUMNS)


def _record_columns(table: pa.Table) -> pa.Table:
    """RECORD_COLUMNS of `table`, or a clear error naming the ones it lacks."""
    missing = [c for c in RECORD_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"records lack the columns {missing} (see normalise.normalised_records_sql)")
    return table.select(list(RECORD_COLUMNS))


def _records(table: pa.Table, rare_names: pa.Array | None = None) -> pa.Table:
    """The columns Splink compares: RECORD_COLUMNS, the first name's nickname forms and the rare full name
    (derived here, so the stored match hash and the registry depend on neither the nickname list nor on
    other records). `rare_names` are those of all the records there are (`_rare_names`), when `table` is
    only some of them; by default they are counted over `table`."""
    table = with_name_forms(_record_columns(table))
    if rare_names is None:
        rare_names = _rare_names(table)
    name = _full_name(table)
    rare = pc.if_else(pc.is_in(name, value_set=rare_names), name, pa.scalar(None, pa.string()))
    return table.append_column("rare_full_name", rare)


def _full_name(table: pa.Table) -> pa.ChunkedArray:
    first, last = (table[c].cast(pa.string()) for c in ("first_name_n", "last_name_n"))  # all-null: type null
    return pc.binary_join_element_wise(first, last, " ")


def _rare_names(base: pa.Table) -> pa.Array:
    """The full names ('first last') that at most RARE_FULL_NAME_RECORDS records of `base` bear."""
    names = pa.table({"name": _full_name(base)}).filter(pc.field("name").is_valid())  # no name, no block
    counts = names.group_by("name").aggregate([("name", "count")])
    return counts.filter(pc.less_equal(counts["name_count"], RARE_FULL_NAME_RECORDS))["name"].combine_chunks()


def term_frequencies(records: pa.Table) -> dict[str, pa.Table]:
    """Per term-frequency column: value -> share of the records with a value (what Splink's tf_ is)."""
    con = duckdb.connect()
    con.register("records", records)
    out = {}
    for column in TF_COLUMNS:
        out[column] = con.sql(
            f"select {column}, count(*) / sum(count(*)) over () as tf_{column} "
            f"from records where {column} is not null group by {column}"
        ).to_arrow_table()
    con.close()
    return out


def _without_sure_duplicates(records: pa.Table) -> pa.Table:
    """`records` less the later record (by unique_id) of every pair a deterministic rule links."""
    con = duckdb.connect()
    con.register("records", records)
    later = " union ".join(
        f"select r.unique_id from records as l inner join records as r on l.unique_id < r.unique_id and {rule}"
        for rule in DETERMINISTIC_RULES
    )
    out = con.sql(f"select * from records where unique_id not in ({later})").to_arrow_table()
    con.close()
    return out


@dataclass
class LinkageModel:
    """A trained model: Splink's settings JSON (m, u, prior), savable in the warehouse as text."""

    model_json: str
    backend: str = "duckdb"  # the Splink backend that trains and scores: duckdb or spark

    @classmethod
    def train(cls, records: pa.Table, seed: int = 42, u_max_pairs: float = 2e6, backend: str = "duckdb"
              ) -> LinkageModel:
        """Train on `records` without labels (fixed seed, so the same records give the same model on one
        backend; the backends sample differently)."""
        records = _records(records)
        db_api = splink_api(backend)
        # u (how often two different people agree) from random pairs of records, leaving out the second
        # record of every pair the near-certain rules link: on a small load the few duplicates are a large
        # share of all pairs and would make agreement look common among different people.
        u_linker = Linker(db_api.register(_without_sure_duplicates(records), table_name="records_for_u"),
                          settings_creator(), log_level=logging.WARNING)
        u_linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
        settings = u_linker.misc.save_model_to_json()
        settings.pop("linker_uid", None)
        linker = Linker(db_api.register(records, table_name="records"), settings, log_level=logging.WARNING)
        linker.training.estimate_probability_two_random_records_match(
            list(DETERMINISTIC_RULES), recall=DETERMINISTIC_RECALL
        )
        settings_obj = linker._settings_obj  # Splink 5 has no public setter for the prior
        if settings_obj._probability_two_random_records_match <= 0:
            # No pair passes the deterministic rules (a small first load without duplicates): a prior of 0
            # has no match weight (log 0). Assume half a match among all pairs instead.
            pairs = max(records.num_rows * (records.num_rows - 1) / 2, 1.0)
            settings_obj._probability_two_random_records_match = min(0.5 / pairs, 0.5)
            logger.warning("no pair passed the deterministic rules; prior set to %.3g", 0.5 / pairs)
        for rule in EM_BLOCKING_RULES:
            # A session that fails leaves Splink's settings as it set them up for training: the comparisons
            # of the blocked fields switched off and the prior raised for the blocking. Each later session
            # and the saved model then score on the remaining fields with a prior near 1, so one shared
            # address linked a whole branch's customers. Put back the settings as they were before.
            before = settings_obj.core_model_settings.copy()
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=1e6)
            except EMTrainingException:  # no pair agrees on this rule's fields (a bank without postcodes)
                settings_obj.core_model_settings = before
                logger.warning("EM session blocked on %s skipped: no record pairs", rule)
            except ValueError as exc:  # too few pairs: a level's m estimate underflows to 0 (a tiny first load)
                if "probability value" not in str(exc):
                    raise
                settings_obj.core_model_settings = before
                logger.warning("EM session blocked on %s skipped: %s", rule, exc)
        model = linker.misc.save_model_to_json()
        _close(db_api)
        return cls(json.dumps(model, sort_keys=True), backend)

    @property
    def is_current(self) -> bool:
        """Whether the model was built with this version's comparisons and blocking rules. A model stored
        by an earlier version scores with its own, so a change to them would never reach a warehouse
        linked before it."""
        stored = json.loads(self.model_json)
        current = settings_creator().create_settings_dict(stored.get("sql_dialect", "duckdb"))
        return _design(stored) == _design(current)

    def _linker(self, records: pa.Table | None) -> tuple[Linker, DatabaseAPI]:
        db_api = splink_api(self.backend)
        settings = json.loads(self.model_json)
        settings.pop("linker_uid", None)
        table = db_api.register(records, table_name="records") if records is not None else None
        return Linker(table, settings, log_level=logging.WARNING), db_api

    def score_all(self, records: pa.Table, threshold: float) -> pa.Table:
        """Every candidate pair among `records` with match_probability >= threshold:
        unique_id_l, unique_id_r, match_probability (unique_id_l < unique_id_r).

        Past CHUNK_RECORDS records Splink scores the pairs in chunks (records split into n parts on each
        side, n x n chunks): it materialises the blocked pairs of one chunk at a time, where all at once
        took more than the machine's 24 GB at 1M demo customers (4.4M records)."""
        records = _records(records)
        linker, db_api = self._linker(records)
        chunks = max(1, math.ceil(records.num_rows / CHUNK_RECORDS))
        logger.info("scoring %d records in %d x %d chunks", records.num_rows, chunks, chunks)
        predictions = linker.inference.predict(threshold_match_probability=threshold,
                                               num_chunks_left=chunks, num_chunks_right=chunks)
        pairs = _pairs(predictions.as_pyarrow_table())
        _close(db_api)
        return pairs

    def score_within_groups(self, records: pa.Table, groups: pa.Array, term_frequency_base: pa.Table,
                            relevant: tuple[float, float] | None = None) -> pa.Table:
        """Every pair of records that share a group (a candidate customer), whatever its probability: the
        evidence for and against keeping a cluster together.

        With `relevant` = (threshold, contradiction bits) only the pairs that can matter to the split are
        returned: those at or above the threshold (they may link) and those whose contradiction exceeds the
        bits (they split). A pair that is neither is never kept and never splits (clusters.split_conflicts),
        so dropping it changes nothing; at 1M demo customers the pairs of the large groups were most of
        memory."""
        records = _records(records, _rare_names(_record_columns(term_frequency_base))).append_column(
            "group_id", groups)
        _, inverse, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
        records = records.append_column("in_large_group", pa.array(counts[inverse] > LARGE_GROUP))
        db_api = splink_api(self.backend)
        settings = json.loads(self.model_json)
        settings.pop("linker_uid", None)
        settings["retain_intermediate_calculation_columns"] = True
        table = db_api.register(records, table_name="grouped_records")
        linker = Linker(table, settings, log_level=logging.WARNING)
        for column, tf in term_frequencies(_record_columns(term_frequency_base)).items():
            linker.table_management.register_term_frequency_lookup(
                db_api.register(tf, table_name=f"tf_lookup_{column}"), column
            )
        # Every pair in a group of up to LARGE_GROUP records; in a larger group only the pairs that share a
        # blocking key (a group of n records has n(n-1)/2 pairs: at 1M demo customers the chains of
        # namesakes sharing emails made groups whose pairs ran out of memory).
        rules = ["l.group_id = r.group_id and not l.in_large_group"] + [
            f"l.group_id = r.group_id and l.in_large_group and ({rule})" for rule in PREDICTION_BLOCKING_RULES]
        within = linker.inference.predict_within(
            table, blocking_rules_to_generate_predictions=rules, warning_mode="never"
        )
        if not isinstance(db_api, DuckDBAPI):
            return _with_contradiction(within.as_pyarrow_table(), relevant)
        # On DuckDB the four columns are computed where the pairs are: Splink's intermediate columns (a
        # few dozen per pair) never come to Python.
        con = db_api.duckdb_con
        columns = [row[0] for row in con.execute(f"describe {within.physical_name}").fetchall()]
        pairs = con.sql(_contradiction_sql(within.physical_name, columns, relevant)).to_arrow_table()
        _close(db_api)
        return pairs

    def score_new(
        self, existing: pa.Table, new: pa.Table, threshold: float, term_frequency_base: pa.Table | None = None
    ) -> pa.Table:
        """Pairs between `new` records and `existing` ones, and among the new ones, with match_probability
        >= threshold; existing records are not compared with each other (incremental linkage).
        Term frequencies come from `term_frequency_base` (default: existing and new together)."""
        base = term_frequency_base if term_frequency_base is not None else pa.concat_tables(
            [_record_columns(existing), _record_columns(new)])
        rare_names = _rare_names(_record_columns(base))  # counted once, for both sides
        existing, new = _records(existing, rare_names), _records(new, rare_names)
        db_api = splink_api(self.backend)
        settings = json.loads(self.model_json)
        settings.pop("linker_uid", None)
        left = db_api.register(new, table_name="new_records")
        right = db_api.register(existing, table_name="existing_records")
        linker = Linker(left, settings, log_level=logging.WARNING)
        for column, tf in term_frequencies(_record_columns(base)).items():
            linker.table_management.register_term_frequency_lookup(
                db_api.register(tf, table_name=f"tf_lookup_{column}"), column
            )
        parts = []
        if len(existing) and len(new):
            between = linker.inference.predict_between(
                left, right, threshold_match_probability=threshold, warning_mode="never"
            )
            parts.append(_pairs(between.as_pyarrow_table()))
        if len(new) > 1:
            within = linker.inference.predict_within(left, threshold_match_probability=threshold, warning_mode="never")
            parts.append(_pairs(within.as_pyarrow_table()))
        _close(db_api)
        return pa.concat_tables(parts) if parts else _pairs(None)


def _design(settings: dict) -> tuple:
    """What a model's settings hold besides trained numbers: the blocking rules and, per comparison, each
    level's condition and term-frequency adjustment."""
    rules = tuple(r["blocking_rule"] for r in settings["blocking_rules_to_generate_predictions"])
    levels = tuple(
        (c["output_column_name"], tuple((lv["sql_condition"], lv.get("tf_adjustment_column"),
                                         lv.get("tf_adjustment_weight"), lv.get("is_null_level", False))
                                        for lv in c["comparison_levels"]))
        for c in settings["comparisons"])
    return rules, levels


def _close(db_api: DatabaseAPI) -> None:
    """Close a Splink DuckDB database once its results are in Arrow, so its tables of pairs (up to its memory
    cap) are freed now rather than whenever Python collects the linker objects, not beside the next step's
    database."""
    if isinstance(db_api, DuckDBAPI):
        db_api.duckdb_con.close()


def _contradiction_sql(relation: str, columns: list[str], relevant: tuple[float, float] | None = None) -> str:
    """Pairs of `relation` (Splink's predictions with their intermediate columns) with `contradiction`: the
    bits of evidence against a match, summed over the fields that disagree (each negative match weight).
    Unlike a low probability, which may only mean the two records share little, a large contradiction
    means they disagree on what they both hold. `relevant`: see score_within_groups."""
    weights = [c for c in columns if c.startswith("mw_") and not c.startswith("mw_tf_adj_")]
    against = " + ".join(f"least(coalesce({c}, 0), 0)" for c in weights) or "0"
    pairs = (f"select least(unique_id_l, unique_id_r) as unique_id_l, "
             f"greatest(unique_id_l, unique_id_r) as unique_id_r, match_probability, -({against}) as contradiction "
             f"from {relation} where unique_id_l <> unique_id_r")
    if relevant is None:
        return pairs
    threshold, bits = relevant
    return f"select * from ({pairs}) where match_probability >= {threshold!r} or contradiction > {bits!r}"


def _with_contradiction(table: pa.Table, relevant: tuple[float, float] | None = None) -> pa.Table:
    """_contradiction_sql on an Arrow table (Splink on Spark)."""
    con = duckdb.connect()
    con.register("p", table)
    out = con.sql(_contradiction_sql("p", table.column_names, relevant)).to_arrow_table()
    con.close()
    return out


def _pairs(table: pa.Table | None) -> pa.Table:
    """Pairs ordered so unique_id_l < unique_id_r, deduplicated, with their probability."""
    schema = pa.schema([("unique_id_l", pa.string()), ("unique_id_r", pa.string()),
                        ("match_probability", pa.float64())])
    if table is None or len(table) == 0:
        return schema.empty_table()
    con = duckdb.connect()
    con.register("p", table.select(["unique_id_l", "unique_id_r", "match_probability"]))
    out = con.sql(
        "select least(unique_id_l, unique_id_r) as unique_id_l, greatest(unique_id_l, unique_id_r) as unique_id_r, "
        "max(match_probability) as match_probability from p where unique_id_l <> unique_id_r group by 1, 2"
    ).to_arrow_table()
    con.close()
    return out.cast(schema)

