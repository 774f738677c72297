"""A CI check that the dbt project's SQL runs on both warehouses: no DuckDB-only syntax outside the dispatched
dialect macros (README, "Scale-out: Spark, Kubernetes, Postgres").

`check_project` reads every SQL file of the dbt project (models, snapshots, singular and generic tests,
macros), with comments, string literals and Jinja statements blanked, against a list of DuckDB-only constructs
(`::` casts, `EXCLUDE`, `QUALIFY`, lambdas, `read_csv()` and the other rules of DENYLIST). The body of a dialect
implementation of a dispatched macro (`duckdb__name`, `postgres__name`, `spark__name`) is exempt: that is where
a dialect difference belongs. (Parsing the compiled SQL with sqlglot is no check: its Spark reader accepts
`::`, `EXCLUDE`, `QUALIFY` and lambdas, and DuckDB-to-Spark transpiling rewrites them rather than failing.)

`python -m orchestration.portable_sql` prints every finding as file:line:column and exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
SQL_FOLDERS = ("models", "snapshots", "tests", "macros")
DIALECT_PREFIXES = ("duckdb__", "postgres__", "spark__", "databricks__", "snowflake__", "bigquery__")

# (name, pattern, what to write instead). Patterns run on text whose comments and string literals are
# blanked, case-insensitively; a function call preceded by a dot (dbt.listagg, dbt.hash) is dbt's
# cross-database macro, not the engine's function.
DENYLIST: tuple[tuple[str, str, str], ...] = (
    ("double-colon cast", r"::", "cast(x as type) or dbt.type_* / dbt.cast"),
    ("SELECT * EXCLUDE", r"\*\s*exclude\b", "list the columns"),
    ("SELECT * REPLACE", r"\*\s*replace\s*\(", "list the columns"),
    ("QUALIFY", r"\bqualify\b", "a window in a subquery and a where filter (macro deduplicate)"),
    ("lambda", r"(?<![-<])->(?!>)|\blambda\b", "a join or a dispatched macro"),
    ("read_csv/read_parquet/read_json in a model", r"(?<![.\w])read_(csv|csv_auto|parquet|json|json_auto)\s*\(",
     "a source (the loader writes raw tables)"),
    ("GROUP BY ALL / ORDER BY ALL", r"\b(group|order)\s+by\s+all\b", "list the columns"),
    ("FROM-first select", r"^\s*from\s+[\w.\"]+\s+select\b", "select ... from"),
    ("DuckDB list function", r"(?<![.\w])(list_\w+|array_transform|array_filter|list|string_split|str_split)\s*\(",
     "a dispatched macro"),
    ("DuckDB struct constructor", r"(?<![.\w])(struct_pack|struct_insert)\s*\(", "a dispatched macro"),
    ("DuckDB date function", r"(?<![.\w])(strftime|strptime|epoch|epoch_ms|today|date_diff|date_sub|date_add|"
     r"make_date|make_timestamp|date_part)\s*\(",
     "dbt.datediff / dbt.dateadd / dbt.date_trunc / extract / a dispatched macro"),
    ("engine-specific hash", r"(?<![.\w])hash\s*\(", "dbt.hash (md5 on every engine)"),
    ("regexp_matches / regexp_full_match", r"(?<![.\w])regexp_(matches|full_match|extract_all|split_to_array)\s*\(",
     "a dispatched macro"),
    ("generate_series / range table function", r"(?<![.\w])(generate_series|range)\s*\(", "day_spine / number_spine"),
    ("string_agg / list aggregate", r"(?<![.\w])(string_agg|group_concat|array_agg|listagg)\s*\(",
     "dbt.listagg or a dispatched macro"),
    ("DuckDB type name", r"\bas\s+(varchar|hugeint|utinyint|usmallint|uinteger|ubigint|blob|json)\b",
     "dbt.type_string() / dbt.type_bigint() / the project's type macros"),
    ("ILIKE", r"\bilike\b", "lower(x) like lower(y)"),
)
_RULES = [(name, re.compile(pattern, re.IGNORECASE | re.MULTILINE), advice) for name, pattern, advice in DENYLIST]


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    column: int
    rule: str
    advice: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.rule} ({self.text.strip()!r}); use {self.advice}"


def _blank(text: str, start: int, end: int) -> str:
    """`text` with [start, end) replaced by spaces (newlines kept, so lines and columns stay put)."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _blank_all(text: str, pattern: re.Pattern[str]) -> str:
    for match in reversed(list(pattern.finditer(text))):
        text = _blank(text, *match.span())
    return text


_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_JINJA_STATEMENT = re.compile(r"\{%.*?%\}", re.DOTALL)
# Comments and string literals in one left-to-right scan (a quote inside a comment opens no string).
_COMMENT_OR_STRING = re.compile(
    r"(?P<comment>--[^\n]*|/\*.*?\*/)|(?P<string>'(?:[^'\\]|''|\\.)*'|\"(?:[^\"\\]|\\.)*\")", re.DOTALL)
_DIALECT_MACRO = re.compile(
    r"\{%-?\s*macro\s+(" + "|".join(DIALECT_PREFIXES) + r")\w*\s*\(.*?\{%-?\s*endmacro\s*-?%\}", re.DOTALL)


def scrub(text: str) -> str:
    """The SQL text the rules see: comments, string literals, Jinja statements ({% ... %}: control flow, not
    SQL) and the bodies of dialect macros blanked."""
    text = _blank_all(text, _JINJA_COMMENT)
    text = _blank_all(text, _DIALECT_MACRO)
    text = _blank_all(text, _JINJA_STATEMENT)
    for match in reversed(list(_COMMENT_OR_STRING.finditer(text))):
        start, end = match.span()
        if match.group("string"):
            start, end = start + 1, end - 1
        text = _blank(text, start, end)
    return text


def check_sql(text: str, path: Path) -> list[Finding]:
    """Findings of the DuckDB-only rules in one SQL file's text."""
    clean = scrub(text)
    lines = text.splitlines()
    findings = []
    for name, pattern, advice in _RULES:
        for match in pattern.finditer(clean):
            line = clean.count("\n", 0, match.start()) + 1
            column = match.start() - (clean.rfind("\n", 0, match.start()) + 1) + 1
            source_line = lines[line - 1] if lines else ""
            findings.append(Finding(path, line, column, name, advice, source_line))
    return sorted(findings, key=lambda f: (f.line, f.column))


def check_project(project_dir: Path = DBT_PROJECT_DIR) -> list[Finding]:
    """Findings in every SQL file of the dbt project's models, snapshots, tests and macros."""
    findings: list[Finding] = []
    for folder in SQL_FOLDERS:
        for path in sorted((project_dir / folder).rglob("*.sql")):
            findings.extend(check_sql(path.read_text(encoding="utf-8"), path.relative_to(project_dir.parent)))
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project-dir", type=Path, default=DBT_PROJECT_DIR)
    args = parser.parse_args(argv)
    findings = check_project(args.project_dir)
    for finding in findings:
        print(finding)
    print(f"{len(findings)} finding(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
