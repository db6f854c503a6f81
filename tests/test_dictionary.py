"""The data dictionary is the contract of the derived tables: layouts are checked, descriptions are stored."""

from __future__ import annotations

import datetime as dt

import pytest

from lifecycle_pipeline.daily_tables import TableLayoutError
from lifecycle_pipeline.dictionary import TABLES
from lifecycle_pipeline.scoring import ScoringSettings, compute_customer_features, compute_health
from tests.builders import add_customer, new_warehouse

DAY = dt.date(2026, 3, 1)


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
    assert table_comment == [(f"{doc.description} Grain: {doc.grain}.",)]


def test_a_table_left_by_an_older_layout_fails_with_how_to_fix_it(tmp_path):
    conn = new_warehouse(tmp_path / "w.duckdb")
    add_customer(conn, "C1")
    compute_customer_features(conn, DAY, "UTC", ScoringSettings())
    conn.execute("create schema if not exists scoring")
    conn.execute("create table scoring.health_scores (as_of_date date, customer_id varchar, health_score double)")
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
    assert shown == {name: doc.column_names() for name, doc in TABLES.items()}


def test_the_committed_data_dictionary_is_up_to_date():
    from pathlib import Path

    from lifecycle_pipeline.dictionary import render_markdown

    committed = (Path(__file__).parent.parent / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert committed == render_markdown() + "\n", "run `lifecycle-pipeline docs` and commit docs/data_dictionary.md"


def test_the_documented_bi_queries_answer_on_a_customer_journey(tmp_path):
    from lifecycle_pipeline.dictionary import EXAMPLE_QUERIES
    from tests.test_stages import DAYS, SHORT, journey

    from lifecycle_pipeline.stages import build_stage_days

    conn = new_warehouse(tmp_path / "w.duckdb")
    journey(conn)  # A goes at_risk -> dormant on day 8
    build_stage_days(conn, DAYS[:11], SHORT)
    moved, by_stage, warned = (conn.execute(q).fetchall() for q in list(EXAMPLE_QUERIES.values())[:3])
    assert moved == [(1,)]
    assert ("dormant", 1, None) in by_stage and len(by_stage) == 9  # no day 30 days before: change unknown
    assert warned == []
    build_stage_days(conn, DAYS[11:], SHORT)
    assert conn.execute(next(iter(EXAMPLE_QUERIES.values()))).fetchall() == [(0,)]  # day 8 is over a week ago
