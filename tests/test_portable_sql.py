"""The portable-SQL check: the dbt project has no DuckDB-only syntax outside dispatched dialect macros, and the
check catches such syntax when it is planted (with file, line and column)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestration.portable_sql import DBT_PROJECT_DIR, check_project, check_sql, main, scrub


def test_the_dbt_project_is_portable() -> None:
    findings = check_project()
    assert findings == [], "\n".join(map(str, findings))


@pytest.mark.parametrize(("sql", "rule"), [
    ("select amount::decimal(18,2) as amount from t", "double-colon cast"),
    ("select * exclude (secret) from t", "SELECT * EXCLUDE"),
    ("select * replace (upper(a) as a) from t", "SELECT * REPLACE"),
    ("select * from t qualify row_number() over (partition by k order by d) = 1", "QUALIFY"),
    ("select list_transform(xs, x -> x + 1) as ys from t", "lambda"),
    ("select * from read_csv('landing/x.csv')", "read_csv/read_parquet/read_json in a model"),
    ("select k, count(*) from t group by all", "GROUP BY ALL / ORDER BY ALL"),
    ("select strftime(d, '%Y-%m') as month from t", "DuckDB date function"),
    ("select hash(k) as h from t", "engine-specific hash"),
    ("select string_agg(name, ', ') from t", "string_agg / list aggregate"),
    ("select cast(a as varchar) from t", "DuckDB type name"),
])
def test_each_duckdb_only_construct_is_found(sql: str, rule: str) -> None:
    assert rule in {f.rule for f in check_sql(sql, Path("m.sql"))}


def test_portable_sql_and_what_only_looks_duckdb_only_pass() -> None:
    sql = """
        -- a comment may say amount::decimal or select * exclude
        {# so may a Jinja comment: qualify #}
        {% for i in range(3) %}select {{ i }} as n{% endfor %}
        select cast(amount as decimal(18,2)) as amount, '::' as text, {{ dbt.hash('k') }} as h,
            {{ dbt.listagg('reason', "'; '") }} as reasons
        from t
        where note like 'qualify%'
    """
    assert check_sql(sql, Path("m.sql")) == []


def test_dialect_macros_may_hold_the_dialect_difference() -> None:
    sql = """
        {% macro duckdb__first_word(x) -%} string_split({{ x }}, ' ')[1]::varchar {%- endmacro %}
        {% macro default__first_word(x) -%} list_extract({{ x }}) {%- endmacro %}
    """
    (finding,) = check_sql(sql, Path("macros/words.sql"))
    assert (finding.line, finding.rule) == (3, "DuckDB list function")


def test_a_planted_construct_fails_the_project_check_with_its_place(tmp_path: Path, capsys) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR / "models", project / "models")
    for folder in ("macros", "tests", "snapshots"):
        shutil.copytree(DBT_PROJECT_DIR / folder, project / folder)
    model = project / "models" / "marts" / "profitability" / "customer_profitability.sql"
    lines = model.read_text(encoding="utf-8").splitlines()
    lines.insert(3, "    -- planted:\n    select customer_key::varchar as k from x")
    model.write_text("\n".join(lines), encoding="utf-8")

    findings = check_project(project)
    assert [(str(f.path), f.line, f.column, f.rule) for f in findings if f.rule == "double-colon cast"] == [
        ("dbt_project/models/marts/profitability/customer_profitability.sql", 5, 24, "double-colon cast")
    ]
    assert main(["--project-dir", str(project)]) == 1
    assert "customer_profitability.sql:5:24: double-colon cast" in capsys.readouterr().out


def test_scrub_keeps_lines_and_columns() -> None:
    sql = "select 'a::b' as x, -- c::d\n  y::int from t"
    clean = scrub(sql)
    assert len(clean) == len(sql) and clean.count("\n") == 1
    (finding,) = check_sql(sql, Path("m.sql"))
    assert (finding.line, finding.column) == (2, 4)
