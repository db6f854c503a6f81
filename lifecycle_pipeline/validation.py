"""Validate one landing day with its Great Expectations suite; quarantine what fails.

Pure functions over a DuckDB connection (no Dagster). GX 1.x validates a pandas frame
(it cannot read DuckDB tables, see STACK_NOTES); the frame is the day's raw rows plus
flags computed in SQL next to the data (``sql/quality/validation_frame.sql``).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from lifecycle_pipeline import sql
from lifecycle_pipeline.contracts import TIMESTAMP, SourceContract
from lifecycle_pipeline.db import quote_ident, transaction
from lifecycle_pipeline.quality_rules import BATCH_RULES, QualitySettings, Rule, row_rules

ROW_ID = ["_source_file", "_source_row"]
SAMPLE_SIZE = 10


@dataclass
class RuleOutcome:
    """Result of one rule on one day, with GX's numbers."""

    rule: Rule
    passed: bool
    unexpected_count: int = 0
    unexpected_percent: float = 0.0
    sample: list = field(default_factory=list)
    expectations: list[str] = field(default_factory=list)
    detail: str = ""
    failed_rows: set[tuple[str, int]] = field(default_factory=set)
    blocking_failure: bool = False

    def metadata(self) -> dict:
        data = {
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": round(self.unexpected_percent, 4),
            "sample_unexpected_values": [str(v) for v in self.sample],
            "expectations": self.expectations,
        }
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass
class DayValidation:
    source: str
    day: dt.date
    rows_read: int
    rows_validated: int
    outcomes: list[RuleOutcome]
    rows_quarantined_validation: int
    rows_quarantined_total: int

    def outcome(self, name: str) -> RuleOutcome:
        return next(o for o in self.outcomes if o.rule.name == name)


def _frame_sql(contract: SourceContract) -> str:
    def day_col(c: str) -> str:
        col = f"r.{quote_ident(c)}"
        return col if contract.column(c).type == TIMESTAMP else f"{col}::timestamptz"

    day_cols = [day_col(c) for c in contract.day_columns]
    day_value = f"coalesce({', '.join(day_cols)})" if len(day_cols) > 1 else day_cols[0]
    customer_known, customer_join = "null::boolean", ""
    if "customer_id" in contract.foreign_keys:
        customer_join = "left join first_seen as fs on fs.customer_id = r.customer_id"
        customer_known = (
            "case when r.customer_id is null then null "
            "else coalesce(fs.first_day <= r._partition_date, false) end"
        )
    refund_consistent = "null::boolean"
    if contract.name == "orders":
        refund_consistent = (
            "case when r.status is distinct from 'refunded' then null else exists ("
            "select 1 from raw.orders o where o.order_id = r.order_id and o.status = 'completed' "
            "and o._partition_date <= r._partition_date and o.amount >= r.amount) end"
        )
    has_target = "null::boolean"
    if contract.name == "suppressions":
        has_target = "(r.customer_id is not null or r.email is not null)"
    return sql.load("quality/validation_frame").format(
        day_value=day_value,
        customer_known=customer_known,
        customer_join=customer_join,
        refund_consistent=refund_consistent,
        has_target=has_target,
        table=quote_ident(contract.name),
    )


class SuiteRunner:
    """One ephemeral GX context per run: suites per source, optional Data Docs site."""

    def __init__(self, docs_dir: Path | None = None):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.datasource = self.context.data_sources.add_pandas("landing_days")
        self.docs_dir = docs_dir
        if docs_dir is not None:
            self.context.add_data_docs_site(
                site_name="lifecycle",
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        self._validations: dict[str, tuple[object, list[tuple[Rule, list[str]]]]] = {}

    def _validation_for(self, contract: SourceContract):
        if contract.name not in self._validations:
            gx = self._gx
            asset = self.datasource.add_dataframe_asset(contract.name)
            batch = asset.add_batch_definition_whole_dataframe("day")
            suite = self.context.suites.add(gx.ExpectationSuite(name=f"{contract.name}_landing_day"))
            mapping = []
            for rule in row_rules(contract):
                ids = []
                for expectation in rule.expectations():
                    expectation.meta = {"rule": rule.name}
                    added = suite.add_expectation(expectation)
                    ids.append(added.id)
                mapping.append((rule, ids))
            validation = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=f"{contract.name}_landing_day", data=batch, suite=suite)
            )
            self._validations[contract.name] = (validation, mapping)
        return self._validations[contract.name]

    def run(self, contract: SourceContract, frame: pd.DataFrame, label: str):
        from great_expectations.core.run_identifier import RunIdentifier

        validation, mapping = self._validation_for(contract)
        result = validation.run(
            batch_parameters={"dataframe": frame},
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": ROW_ID,
                "partial_unexpected_count": SAMPLE_SIZE,
                "return_unexpected_index_query": False,
            },
            run_id=RunIdentifier(run_name=f"{contract.name}_{label}"),
        )
        return result, mapping

    def build_docs(self) -> None:
        """Render the Data Docs pages of the validations this runner ran (once per step).

        The site is shared by every step and run; building its index would make GX
        delete the pages of results this (ephemeral) context does not know, so pages
        are added without an index and linked directly from the check metadata.
        """
        if self.docs_dir is not None:
            self.context.build_data_docs(site_names=["lifecycle"], build_index=False)

    def docs_page(self, result) -> str | None:
        """file:// URL of the Data Docs page of ``result`` (valid after build_docs)."""
        if self.docs_dir is None or result is None:
            return None
        run_id = result.meta["run_id"]
        stamp = run_id.run_time.strftime("%Y%m%dT%H%M%S.%fZ")
        folder = self.docs_dir / "validations" / result.suite_name / run_id.run_name / stamp
        return (folder / f"{self.datasource.name}-{result.asset_name}.html").as_uri()


def _row_outcomes(contract, frame, runner, label) -> tuple[list[RuleOutcome], object]:
    if frame.empty:
        return [RuleOutcome(rule=r, passed=True, detail="no rows") for r in row_rules(contract)], None
    result, mapping = runner.run(contract, frame, label)
    by_id = {r.expectation_config.id: r for r in result.results}
    outcomes = []
    for rule, ids in mapping:
        outcome = RuleOutcome(rule=rule, passed=True)
        for expectation_id in ids:
            res = by_id[expectation_id]
            info = res.result or {}
            column = res.expectation_config.kwargs.get("column") or res.expectation_config.kwargs.get("column_list")
            outcome.expectations.append(f"{res.expectation_config.type}({column}): {'pass' if res.success else 'FAIL'}")
            if res.success:
                continue
            outcome.passed = False
            outcome.unexpected_count += int(info.get("unexpected_count") or 0)
            outcome.unexpected_percent = max(outcome.unexpected_percent, float(info.get("unexpected_percent") or 0))
            outcome.sample += list(info.get("partial_unexpected_list") or [])[: SAMPLE_SIZE - len(outcome.sample)]
            for row in info.get("unexpected_index_list") or []:
                outcome.failed_rows.add((row["_source_file"], int(row["_source_row"])))
        if rule.sample_column and outcome.failed_rows:
            keys = pd.MultiIndex.from_tuples(sorted(outcome.failed_rows)[:SAMPLE_SIZE], names=ROW_ID)
            shown = frame.set_index(ROW_ID).loc[keys, rule.sample_column]
            outcome.sample = [str(v) for v in shown.tolist()]
        outcomes.append(outcome)
    return outcomes, result


def _volume_outcome(conn, contract, day, rows_read, files, settings) -> RuleOutcome:
    rule = BATCH_RULES[0]
    history = conn.execute(
        sql.load("quality/landing_history"),
        {"source": contract.name, "day": day, "history_days": settings.volume_history_days},
    ).fetchall()
    counts = [r[2] for r in history]
    if files == 0:
        return RuleOutcome(rule, True, detail="no file; see file_arrived")
    if not counts or len(counts) < settings.volume_min_history_days:
        return RuleOutcome(rule, True, detail=f"insufficient history: {len(counts)} of {settings.volume_min_history_days} days")
    median = statistics.median(counts)
    if median < settings.volume_min_median_rows:
        return RuleOutcome(rule, True, detail=f"trailing median {median:g} rows is too small to judge volume")
    low, high = settings.volume_min_ratio * median, settings.volume_max_ratio * median
    passed = low <= rows_read <= high
    outcome = RuleOutcome(
        rule, passed, sample=[rows_read],
        detail=f"{rows_read} rows vs trailing {len(counts)}-day median {median:g} (allowed {low:g}..{high:g})",
    )
    outcome.blocking_failure = not passed
    return outcome


def _freshness_outcome(conn, contract, day, files) -> RuleOutcome:
    rule = BATCH_RULES[1]
    if files > 0:
        return RuleOutcome(rule, True, detail=f"{files} file(s) arrived")
    (ever,) = conn.execute(
        "select count(*) from quality.landing_loads where source = ? and files > 0", [contract.name]
    ).fetchall()[0]
    if ever == 0 and not contract.required_for_business:
        return RuleOutcome(rule, True, detail="source not delivered by this business; downstream treats it as absent")
    outcome = RuleOutcome(rule, False, detail=f"no {contract.name} file for {day}")
    outcome.blocking_failure = True
    return outcome


@dataclass
class RangeValidation:
    """Validation of a run's partition range: GX numbers for the range, outcomes per day."""

    source: str
    days: list[DayValidation]
    row_outcomes: list[RuleOutcome]
    data_docs: str | None

    def check(self, name: str) -> tuple[bool, bool, dict]:
        """(passed, blocking failure, metadata) of one check over the whole range."""
        per_day = [(d.day, d.outcome(name)) for d in self.days]
        failing = [(day, o) for day, o in per_day if not o.passed]
        ranged = next((o for o in self.row_outcomes if o.rule.name == name), None)
        metadata = ranged.metadata() if ranged is not None else {}
        if ranged is None and len(per_day) == 1:
            metadata = per_day[0][1].metadata()
        metadata["failing_days"] = [
            {"day": day.isoformat(), "unexpected_count": o.unexpected_count, "detail": o.detail} for day, o in failing
        ]
        if self.data_docs:
            metadata["data_docs"] = self.data_docs
        return not failing, any(o.blocking_failure for _, o in failing), metadata


def validate_days(
    conn: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    days: list[dt.date],
    settings: QualitySettings,
    runner: SuiteRunner,
    now: dt.datetime | None = None,
) -> RangeValidation:
    """Run the source's suite on ``raw.<source>`` for ``days`` (consecutive) in one GX run.

    Rows failing critical rules replace the days' ``validation`` quarantine rows (one
    quarantine row per input row, naming every rule it failed). Batch rules are
    evaluated per day from ``quality.landing_loads``.
    """
    first, last = days[0], days[-1]
    now = now or dt.datetime.now(dt.UTC)
    frame = conn.execute(
        _frame_sql(contract),
        {
            "first_day": first,
            "last_day": last,
            "late_tolerance_days": settings.late_tolerance_days,
            "now": now + dt.timedelta(minutes=settings.future_skew_minutes),
        },
    ).df()
    label = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    row_outcomes, gx_result = _row_outcomes(contract, frame, runner, label)

    failures: dict[tuple[str, int], list[RuleOutcome]] = defaultdict(list)
    for outcome in row_outcomes:
        if outcome.rule.critical:
            for row in outcome.failed_rows:
                failures[row].append(outcome)
    records = [
        {
            "source_file": row[0],
            "source_row": row[1],
            "rule": ",".join(o.rule.name for o in found),
            "reason": "; ".join(f"{o.rule.name}: {o.rule.description}" for o in found),
        }
        for row, found in sorted(failures.items())
    ]
    params = {"source": contract.name, "first_day": first, "last_day": last}
    with transaction(conn):
        conn.execute(sql.load("quality/delete_validation_quarantine"), params)
        if records:
            conn.register("failures", pd.DataFrame.from_records(records))
            columns = ", ".join(f"{quote_ident(c)} := r.{quote_ident(c)}" for c in contract.column_names)
            conn.execute(
                sql.load("quality/replace_validation_quarantine").format(table=quote_ident(contract.name), columns=columns),
                params,
            )
            conn.unregister("failures")

    # the landing day of each failed row (only those: a big day has millions of rows)
    failed_rows = sorted(set().union(*(o.failed_rows for o in row_outcomes)))
    row_day: dict[tuple[str, int], dt.date] = {}
    if failed_rows:
        keys = pd.MultiIndex.from_tuples(failed_rows, names=ROW_ID)
        found = frame.set_index(ROW_ID)["_partition_date"].loc[keys]
        row_day = {key: _as_date(value) for key, value in zip(failed_rows, found, strict=True)}
    rows_per_day = {_as_date(k): int(v) for k, v in frame.groupby("_partition_date").size().items()}
    loads = {
        r[0]: r[1:]
        for r in conn.execute(
            "select partition_date, files, rows_read, rows_quarantined from quality.landing_loads "
            "where source = ? and partition_date between ? and ?",
            [contract.name, first, last],
        ).fetchall()
    }
    quarantined_by_day: dict[dt.date, int] = defaultdict(int)
    for row in failures:
        quarantined_by_day[row_day[row]] += 1

    results = []
    for day in days:
        files, rows_read, type_rejects = loads.get(day, (0, 0, 0))
        validated = rows_per_day.get(day, 0)
        quarantined = type_rejects + quarantined_by_day[day]
        share = quarantined / rows_read if rows_read else 0.0
        share_outcome = RuleOutcome(
            BATCH_RULES[2], share <= settings.max_quarantine_share,
            unexpected_count=quarantined, unexpected_percent=100 * share,
            detail=f"{quarantined} of {rows_read} rows quarantined ({type_rejects} type_cast, "
            f"{quarantined_by_day[day]} by rules); limit {100 * settings.max_quarantine_share:g}%",
        )
        share_outcome.blocking_failure = not share_outcome.passed
        day_outcomes = []
        for ranged in row_outcomes:
            failed = [r for r in ranged.failed_rows if row_day[r] == day]
            outcome = RuleOutcome(
                ranged.rule, not failed, unexpected_count=len(failed),
                unexpected_percent=100 * len(failed) / validated if validated else 0.0,
            )
            outcome.blocking_failure = bool(failed) and ranged.rule.critical and share_outcome.blocking_failure
            day_outcomes.append(outcome)
        day_outcomes += [
            _volume_outcome(conn, contract, day, rows_read, files, settings),
            _freshness_outcome(conn, contract, day, files),
            share_outcome,
        ]
        results.append(DayValidation(
            source=contract.name, day=day, rows_read=rows_read, rows_validated=validated, outcomes=day_outcomes,
            rows_quarantined_validation=quarantined_by_day[day], rows_quarantined_total=quarantined,
        ))
    return RangeValidation(contract.name, results, row_outcomes, runner.docs_page(gx_result))


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, (pd.Timestamp, dt.datetime)) else value
