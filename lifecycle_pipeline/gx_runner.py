"""The Great Expectations side of validation: one suite per source, run on a pandas frame.

GX 1.x validates a pandas frame (it cannot read DuckDB tables, see STACK_NOTES). A
``SuiteRunner`` holds one ephemeral GX context per run (suites per source, optional
Data Docs site); ``row_outcomes`` turns a GX result into one ``RuleOutcome`` per
row-level rule of ``quality_rules``, naming the failing rows by ``ROW_ID``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lifecycle_pipeline.contracts import SourceContract
from lifecycle_pipeline.quality_rules import Rule, row_rules
from lifecycle_pipeline.validation_results import RuleOutcome

ROW_ID = ["_source_file", "_source_row"]
SAMPLE_SIZE = 10


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


def row_outcomes(contract, frame, runner, label) -> tuple[list[RuleOutcome], object]:
    """Run the source's suite on ``frame``: one outcome per row-level rule, and the GX result (None if no rows)."""
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
