"""The data dictionary is the contract of the derived tables: layouts are checked, descriptions are stored.

The entries are YAML files beside the SQL (``sql/<layer>/<table>.yml``), loaded and validated by
``lifecycle_pipeline/dictionary.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from lifecycle_pipeline.daily_tables import TableLayoutError
from lifecycle_pipeline.dictionary import (
    TABLES,
    DictionaryError,
    accepted_value_violations,
    load_tables,
)
from lifecycle_pipeline.scoring import (
    ScoringSettings,
    compute_customer_features,
    compute_health,
)
from tests.builders import add_customer, new_warehouse

DAY = dt.date(2026, 3, 1)
ROOT = Path(__file__).resolve().parent.parent
# the folder of the SQL that builds each schema's tables
LAYER_OF_SCHEMA = {"scoring": "scoring", "lifecycle": "stages", "outreach": "outreach"}


def test_derived_tables_carry_their_documented_descriptions_in_duckdb(tmp_path):
    conn = new_warehouse(tmp_path / "w.duckdb")
    add_customer(conn, "C1")
    compute_customer_features(conn, DAY, "UTC", ScoringSettings())
    comments = dict(conn.execute(
        "select column_name, comment from duckdb_columns() where schema_name = 'scoring' "
        "and table_name = 'customer_features'").fetchall())
    doc = TABLES["scoring.customer_features"]
    assert comments == {name: meaning for name, _type, meaning in doc.columns}
    table_comment = conn.execute("select comment from duckdb_tables() where table_name = 'customer_features'").fetchall()
    assert table_comment == [(doc.summary(),)]
    assert "Grain: customer x as_of_date" in doc.summary() and "SQL: sql/scoring/customer_features.sql" in doc.summary()


def test_a_table_left_by_an_older_layout_fails_with_how_to_fix_it(tmp_path):
    conn = new_warehouse(tmp_path / "w.duckdb")
    add_customer(conn, "C1")
    compute_customer_features(conn, DAY, "UTC", ScoringSettings())
    conn.execute("create schema if not exists scoring")
    conn.execute("create table scoring.health_scores (as_of_date date, customer_id varchar, health_score varchar)")
    with pytest.raises(TableLayoutError, match=r"scoring.health_scores does not have the documented layout .*"
                                               r"drop table scoring.health_scores\`\) and backfill"):
        compute_health(conn, DAY, ScoringSettings())
    assert conn.execute("select count(*) from scoring.health_scores").fetchall() == [(0,)]


def test_every_asset_shows_its_documented_columns(defs):
    shown = {}
    for asset in defs.assets:
        for spec in asset.specs:
            table = spec.metadata.get("dagster/table_name", "")
            if table in TABLES:
                shown[table] = [c.name for c in spec.metadata["dagster/column_schema"].columns]
    assert shown == {name: doc.column_names() for name, doc in TABLES.items() if not doc.internal_to}
    # a table that is another asset's working state names an asset that exists
    keys = {key.to_user_string() for asset in defs.assets for key in asset.keys}
    assert {doc.internal_to for doc in TABLES.values() if doc.internal_to} <= keys


def test_the_committed_data_dictionary_is_up_to_date():
    from pathlib import Path

    from lifecycle_pipeline.dictionary import render_markdown

    committed = (Path(__file__).parent.parent / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert committed == render_markdown() + "\n", "run `lifecycle-pipeline docs` and commit docs/data_dictionary.md"


def test_the_documented_bi_queries_answer_on_a_customer_journey(tmp_path):
    from lifecycle_pipeline.dictionary import EXAMPLE_QUERIES
    from lifecycle_pipeline.stages import build_stage_days
    from tests.scenarios import DAYS, SHORT, journey

    conn = new_warehouse(tmp_path / "w.duckdb")
    journey(conn)  # A goes at_risk -> dormant on day 8
    build_stage_days(conn, DAYS[:11], SHORT)
    moved, by_stage, warned = (conn.execute(q).fetchall() for q in list(EXAMPLE_QUERIES.values())[:3])
    assert moved == [(1,)]
    assert ("dormant", 1, None) in by_stage and len(by_stage) == 9  # no day 30 days before: change unknown
    assert warned == []
    build_stage_days(conn, DAYS[11:], SHORT)
    assert conn.execute(next(iter(EXAMPLE_QUERIES.values()))).fetchall() == [(0,)]  # day 8 is over a week ago


def test_every_derived_table_has_its_entry_beside_the_sql_that_builds_it():
    entries = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "sql").rglob("*.yml"))
    assert entries == sorted(doc.source for doc in TABLES.values()) and len(entries) == 21
    for name, doc in TABLES.items():
        schema, table = name.split(".")
        folder = f"sql/{LAYER_OF_SCHEMA[schema]}"
        assert doc.source == f"{folder}/{table}.yml"
        assert doc.built_by and all(path.startswith(folder + "/") for path in doc.built_by)
        assert all((ROOT / path).is_file() for path in doc.built_by), doc.built_by


def test_every_entry_names_a_section_of_domain_md():
    domain = ROOT.parent / "shared" / "DOMAIN.md"  # ../shared/DOMAIN.md, as README.md says
    if not domain.is_file():
        pytest.skip("DOMAIN.md is not beside this checkout")
    sections = [line.removeprefix("## ") for line in domain.read_text(encoding="utf-8").splitlines()
                if line.startswith("## ")]
    for doc in TABLES.values():
        assert any(section.startswith(doc.domain) for section in sections), (doc.source, doc.domain)


def test_texts_name_the_setting_with_its_default_instead_of_a_number():
    health = TABLES["scoring.health_scores"]
    assert "weight_activity (default 40)" in health.description
    assert "healthy from healthy_min (default 85)" in dict((n, m) for n, _t, m in health.columns)["health_band"]
    stage = TABLES["lifecycle.customer_stage_daily"]
    assert "churned when r is above dormant_max_days (default 180)" in stage.description
    uplift = TABLES["outreach.campaign_uplift"]
    assert "playbook uplift.window_days" in uplift.description  # a playbook key: named, no value
    # no braces survive rendering, and no text spells out the default of a window setting
    for doc in TABLES.values():
        for text in (doc.description, doc.grain, *(m for _n, _t, m in doc.columns)):
            assert "{" not in text and "}" not in text, (doc.source, text)
            assert not re.search(r"\b(45|180) days", text), (doc.source, text)


def test_accepted_values_come_from_the_vocabulary():
    from lifecycle_pipeline.vocabulary import EXCLUSION_REASONS, STAGES, WARNING_SIGNALS

    stage = TABLES["lifecycle.customer_stage_daily"].accepted_values
    assert stage["stage"] == STAGES and stage["warning_tier"] == (0, 1, 2, 3)
    assert TABLES["scoring.early_warnings"].accepted_values["warning_signal"] == tuple(WARNING_SIGNALS.values())
    assert TABLES["outreach.outreach_list"].accepted_values["reasons_excluded"] == EXCLUSION_REASONS
    assert TABLES["lifecycle.stage_transitions_daily"].accepted_values["from_stage"] == ("(new)", *STAGES)


def test_the_ui_shows_the_accepted_values_of_a_column(defs):
    spec = next(s for a in defs.assets for s in a.specs if s.key.to_user_string() == "lifecycle/customer_stage_daily")
    columns = {c.name: c for c in spec.metadata["dagster/column_schema"].columns}
    assert columns["stage"].constraints.other == ["accepted values: " + ", ".join(TABLES[
        "lifecycle.customer_stage_daily"].accepted_values["stage"])]
    assert "dormant_max_days (default 180)" in spec.description and "DOMAIN.md, section Lifecycle stage" in spec.description


def test_materialized_tables_hold_only_accepted_values(tmp_path):
    from lifecycle_pipeline import scoring
    from lifecycle_pipeline.stages import StageSettings, build_stage_days, compute_kpis
    from tests.builders import add_nps, add_order, at

    conn = new_warehouse(tmp_path / "w.duckdb")
    days = [DAY + dt.timedelta(days=i) for i in range(3)]
    add_customer(conn, "A", signup=at(DAY - dt.timedelta(days=400)), channel="social")
    add_customer(conn, "B", signup=at(DAY, "08:00:00"))  # a prospect, no channel
    for i, back in enumerate((300, 200, 60, 30, 10, 1)):
        add_order(conn, f"A{i}", "A", at(DAY - dt.timedelta(days=back)))
    add_nps(conn, "N1", "A", at(DAY - dt.timedelta(days=5)), 10)
    settings, lifecycle = ScoringSettings(), StageSettings()
    for day in days:
        scoring.compute_customer_features(conn, day, "UTC", settings)
        scoring.compute_rfm(conn, day, lifecycle)
        scoring.compute_nps_daily(conn, day, "UTC", settings)
        scoring.compute_health(conn, day, settings)
        scoring.compute_early_warnings(conn, day, settings, lifecycle)
        scoring.compute_ltv(conn, day, settings)
        scoring.compute_channel_economics(conn, day, settings)
    build_stage_days(conn, days, lifecycle)
    for day in days:
        compute_kpis(conn, day, "UTC", lifecycle)
    written = {f"{s}.{t}" for s, t in conn.execute("select table_schema, table_name from information_schema.tables")
               .fetchall()}
    checked = [name for name in TABLES if name in written and TABLES[name].accepted_values]
    assert len(checked) >= 8  # every scoring and lifecycle table with a value list
    assert {name: accepted_value_violations(conn, name) for name in checked} == {name: {} for name in checked}
    assert conn.execute("select distinct stage from lifecycle.customer_stage_daily order by 1").fetchall() == [
        ("advocate",), ("prospect",)]
    conn.execute("update lifecycle.customer_stage_daily set stage = 'zombie' where customer_id = 'B'")
    assert accepted_value_violations(conn, "lifecycle.customer_stage_daily") == {"stage": ["zombie"]}


ENTRY = """\
name: scoring.example
grain: customer x as_of_date
domain: "DOMAIN.md: Scores"
built_by: sql/scoring/example.sql
description: An example over {recent_days} days.
columns:
  - name: as_of_date
    type: DATE
    description: Business day.
  - name: stage
    type: VARCHAR
    description: Stage.
    accepted_values: {vocabulary: STAGES}
"""


def _root(tmp_path: Path, text: str) -> Path:
    (tmp_path / "scoring").mkdir()
    (tmp_path / "scoring" / "example.sql").write_text("select 1", encoding="utf-8")
    (tmp_path / "scoring" / "example.yml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_valid_entry_loads_with_its_settings_rendered(tmp_path):
    doc = load_tables(_root(tmp_path, ENTRY))["scoring.example"]
    assert doc.description == "An example over recent_days (default 30) days."
    assert doc.columns == (("as_of_date", "DATE", "Business day."), ("stage", "VARCHAR", "Stage."))
    assert doc.source == "sql/scoring/example.yml" and doc.built_by == ("sql/scoring/example.sql",)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("over {recent_days} days", "over {recnt_days} days",
         r"sql/scoring/example.yml: description: unknown placeholder \{recnt_days\}"),
        ("description: Stage.", "description: Stage after {playbook.uplift.windows}.",
         r"columns\[stage\]: unknown placeholder \{playbook.uplift.windows\}: the playbook has no key 'windows'"),
        ("vocabulary: STAGES", "vocabulary: STAGEZ", r"columns\[stage\].accepted_values: unknown vocabulary 'STAGEZ'"),
        ("vocabulary: STAGES", "vocabulary: WARNING_TIERS", r"WARNING_TIERS does not fit a VARCHAR column"),
        ("grain: customer", "colour: blue\ngrain: customer", r"sql/scoring/example.yml: unknown key colour"),
        ("    type: DATE\n", "", r"columns\[as_of_date\]: missing type"),
        ("    type: DATE\n", "    type: DATETIME\n", r"unknown type 'DATETIME'"),
        ('domain: "DOMAIN.md: Scores"\n', "", r"sql/scoring/example.yml: missing domain"),
        ("built_by: sql/scoring/example.sql", "built_by: sql/scoring/missing.sql", r"missing.sql does not exist"),
        ("built_by: sql/scoring/example.sql", "built_by: sql/stages/example.sql", r"beside the entry"),
        ("name: scoring.example", "name: scoring.other", r"name 'scoring.other' must be <schema>.example"),
    ],
)
def test_an_invalid_entry_fails_naming_the_file_and_the_problem(tmp_path, old, new, message):
    assert old in ENTRY
    with pytest.raises(DictionaryError, match=message):
        load_tables(_root(tmp_path, ENTRY.replace(old, new)))



def test_a_table_of_an_older_version_gets_the_columns_appended_since(tmp_path):
    """An upgrade that appends columns (e.g. p_alive on the stage table) keeps the rows written before, with
    NULL in the new columns, and documents them; any other difference still fails (test above)."""
    from lifecycle_pipeline.daily_tables import ensure_table

    conn = new_warehouse(tmp_path / "w.duckdb")
    table = "lifecycle.customer_stage_daily"
    doc = TABLES[table]
    older = [(name, type_) for name, type_, _ in doc.columns if name != "p_alive"]
    assert doc.columns[-1][0] == "p_alive"  # the column this version appended
    conn.execute("create schema lifecycle")
    conn.execute(f"create table {table} ({', '.join(f'{n} {t}' for n, t in older)})")
    conn.execute(f"insert into {table} (as_of_date, customer_id, stage) values (?, 'C1', 'new')", [DAY])
    ensure_table(conn, table)
    assert conn.execute(f"select customer_id, stage, p_alive from {table}").fetchall() == [("C1", "new", None)]
    comment = conn.execute("select comment from duckdb_columns() where table_name = 'customer_stage_daily' "
                           "and column_name = 'p_alive'").fetchall()
    assert comment == [({n: m for n, _t, m in doc.columns}["p_alive"],)]


def test_a_step_connection_checks_each_table_once_and_the_next_step_checks_again(tmp_path):
    """Inside ``layouts_checked_once`` (every asset step's connection) a table's layout is looked up on its first
    day only; a wrong layout is still refused by the first ensure_table of the next step."""
    from lifecycle_pipeline.daily_tables import ensure_table, layout_checked, layouts_checked_once

    conn = new_warehouse(tmp_path / "w.duckdb")
    table = "scoring.nps_daily"
    with layouts_checked_once(conn):
        assert not layout_checked(conn, table)
        ensure_table(conn, table)
        assert layout_checked(conn, table)
        conn.execute(f"alter table {table} add column stray integer")  # behind the step's back
        ensure_table(conn, table)  # not looked up again within the step
    assert not layout_checked(conn, table)
    with pytest.raises(TableLayoutError, match="unexpected: \\[\\('stray', 'INTEGER'\\)\\]"):
        ensure_table(conn, table)
