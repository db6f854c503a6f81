"""The Great Expectations side of validation: one suite per source, run on a pandas frame.

GX 1.x validates a pandas frame (it cannot read DuckDB tables, see STACK_NOTES). A
``SuiteRunner`` holds one ephemeral GX context per run (suites per source, optional
Data Docs site); ``row_outcomes`` turns a GX result into one ``RuleOutcome`` per
row-level rule of ``quality_rules``, naming the failing rows by ``ROW_ID``.

Data Docs (when a docs dir is given) are one GX site shared by every step and run::

    <data dir>/data_docs/index.html          GX's index: every suite, every stored validation
    <data dir>/data_docs/expectations/<suite>.html
    <data dir>/data_docs/validations/<suite>/<run name>/<run time>/landing_days-<source>.html
    <data dir>/gx_store/expectations/<suite>.json                   what the index is built from
    <data dir>/gx_store/validations/<suite>/<run name>/<run time>/landing_days-<source>.json
    <data dir>/gx_store/.lock                 flock held while a step writes the site

(``gx_store`` sits beside the docs dir: ``<docs dir>/../gx_store``.) Each step renders
only its own pages and then the index from everything stored, so the index lists the
validations of every step and run, not only the last one's.
"""

from __future__ import annotations

import copy
import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from lifecycle_pipeline.contracts import SourceContract
from lifecycle_pipeline.quality_rules import Rule, row_rules
from lifecycle_pipeline.validation_results import RuleOutcome

ROW_ID = ["_source_file", "_source_row"]
SAMPLE_SIZE = 10
SITE = "lifecycle"
DATASOURCE = "landing_days"
# Retention of the Data Docs: the newest results per suite (one per source and run: a daily schedule keeps about
# a month; a backfill of single days keeps its newest days). Older results and their pages go. The index build
# reads every stored result: ~0.5 s per step at 30 per suite over 7 suites, ~1.2 s at 90.
KEEP_RESULTS = 30
# The stored copy of a result keeps this many failing rows per expectation (the page shows a sample; the
# full list is in quality.quarantine). The in-memory result, which quarantine reads, keeps them all.
STORED_UNEXPECTED_ROWS = 100
LOCK_TIMEOUT_SECONDS = 300.0
_FULL_LISTS = ("unexpected_list", "unexpected_index_list")
_ATOMIC_BACKEND = "AtomicFilesystemStoreBackend"


class SuiteRunner:
    """One ephemeral GX context per run: suites per source, optional Data Docs site.

    With ``docs_dir`` the site's sources are kept on disk in ``store_dir`` (``<docs_dir>/../gx_store``):
    the suites and, per validation, a copy of the result whose failing-row lists are cut to
    ``STORED_UNEXPECTED_ROWS`` (a day with 100k bad rows stores tens of kB, not megabytes; the in-memory result
    that ``row_outcomes`` and the quarantine read keeps every row). Storage is bounded: each build keeps the
    newest ``keep_results`` results per suite (default ``KEEP_RESULTS``) and deletes older ones and their pages.
    """

    def __init__(self, docs_dir: Path | None = None, *, keep_results: int = KEEP_RESULTS):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self.docs_dir = Path(docs_dir).resolve() if docs_dir is not None else None
        self.store_dir = self.docs_dir.parent / "gx_store" if self.docs_dir is not None else None
        self.keep_results = _checked_keep(keep_results)
        self.lock_timeout = LOCK_TIMEOUT_SECONDS
        if self.docs_dir is None:
            self.context = gx.get_context(mode="ephemeral")
        else:
            self.context = gx.get_context(mode="ephemeral", project_config=_site_config(self.docs_dir, self.store_dir))
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.datasource = self.context.data_sources.add_pandas(DATASOURCE)
        self._validations: dict[str, tuple[object, list[tuple[Rule, list[str]]]]] = {}
        self._unbuilt: list[object] = []  # results of this runner not yet in the Data Docs

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
        if self.docs_dir is not None:
            self._unbuilt.append(result)
        return result, mapping

    def build_docs(self) -> None:
        """Add this runner's validations to the Data Docs and rebuild the site index (once per step).

        Under the site lock (``store_dir/.lock``, an ``flock``: other steps wait, up to ``lock_timeout``
        seconds; the OS drops the lock of a killed holder, so nothing stale ever blocks): store this runner's
        suites and results, prune results beyond ``keep_results`` per suite, render this runner's pages (and
        any stored result or suite whose page is missing, e.g. after the docs dir was deleted), then
        ``index.html`` from everything stored. Every file is written to a temporary name and renamed into
        place, so a reader never sees half a page and a killed writer leaves only a ``.tmp`` file, which the
        next build deletes. GX's index build deletes pages that have no stored result: pages of older
        versions of this runner (which stored no results) go on the first build.
        """
        if self.docs_dir is None or not self._unbuilt:
            return
        with _site_lock(self.store_dir, self.lock_timeout):
            _sweep_temporary_files(self.store_dir, self.docs_dir)
            identifiers = self._store_unbuilt()
            self._prune()
            identifiers += self._missing_pages(identifiers)
            self.context.build_data_docs(site_names=[SITE], resource_identifiers=identifiers, build_index=True)
        self._unbuilt.clear()

    def prune(self, keep_results: int | None = None) -> int:
        """Delete stored results (and their pages) beyond the newest ``keep_results`` per suite; how many went.

        ``build_docs`` prunes on every build; the index lists the results left at its next build.
        """
        if self.docs_dir is None:
            return 0
        with _site_lock(self.store_dir, self.lock_timeout):
            return self._prune(keep_results)

    def docs_index(self) -> str | None:
        """file:// URL of the Data Docs index (every suite and stored validation; valid after build_docs)."""
        return docs_index_url(self.docs_dir)

    def docs_page(self, result) -> str | None:
        """file:// URL of the Data Docs page of ``result`` (valid after build_docs)."""
        if self.docs_dir is None or result is None:
            return None
        run_id = result.meta["run_id"]
        stamp = run_id.run_time.strftime("%Y%m%dT%H%M%S.%fZ")
        folder = self.docs_dir / "validations" / result.suite_name / run_id.run_name / stamp
        return (folder / f"{self.datasource.name}-{result.asset_name}.html").as_uri()

    # --- the site's on-disk sources (called under the site lock) -------------------------------------------

    def _store_unbuilt(self) -> list:
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        identifiers = []
        for validation, _mapping in self._validations.values():
            key = ExpectationSuiteIdentifier(name=validation.suite.name)
            self.context.stores["docs_suites"].set(key, validation.suite)
            identifiers.append(key)
        for result in self._unbuilt:
            suite_key = ExpectationSuiteIdentifier(name=result.suite_name)
            key = ValidationResultIdentifier(suite_key, result.meta["run_id"], result.batch_id)
            self.context.stores["docs_results"].set(key, _stored_copy(result))
            identifiers.append(key)
        return identifiers

    def _prune(self, keep_results: int | None = None) -> int:
        keep = self.keep_results if keep_results is None else _checked_keep(keep_results)
        store = self.context.stores["docs_results"]
        by_suite: dict[str, list] = {}
        for key in store.list_keys():
            by_suite.setdefault(key.expectation_suite_identifier.name, []).append(key)
        removed = 0
        for keys in by_suite.values():
            keys.sort(key=lambda k: (k.run_id.run_time, k.run_id.run_name), reverse=True)
            for key in keys[keep:]:
                store.remove_key(key)
                _remove_with_empty_parents(self._page(key), self.docs_dir)
                removed += 1
        return removed

    def _missing_pages(self, rendered: list) -> list:
        """Stored suites and results without a page (readable ones; an unreadable result is deleted)."""
        missing = []
        for key in self.context.stores["docs_suites"].list_keys():
            if key not in rendered and not (self.docs_dir / "expectations" / f"{key.name}.html").exists():
                missing.append(key)
        results = self.context.stores["docs_results"]
        for key in results.list_keys():
            if key in rendered or self._page(key).exists():
                continue
            try:
                results.get(key)
            except Exception:  # noqa: BLE001 - half a file from before atomic writes, or edited by hand
                results.remove_key(key)
                continue
            missing.append(key)
        return missing

    def _page(self, key) -> Path:
        *folders, name = key.to_tuple()
        return self.docs_dir.joinpath("validations", *folders, f"{name}.html")


def docs_index_url(docs_dir: Path | None) -> str | None:
    """file:// URL of the Data Docs index of ``docs_dir`` (None: no docs), without starting GX."""
    return (Path(docs_dir).resolve() / "index.html").as_uri() if docs_dir is not None else None


def _checked_keep(keep_results: int) -> int:
    if keep_results < 1:
        raise ValueError(f"keep_results must be at least 1, got {keep_results}")
    return keep_results


def _stored_copy(result):
    """``result`` with each expectation's full failing-row lists cut to ``STORED_UNEXPECTED_ROWS`` (a copy)."""
    stored = copy.copy(result)
    stored.results = []
    for expectation_result in result.results:
        info = expectation_result.result or {}
        if any(len(info.get(name) or ()) > STORED_UNEXPECTED_ROWS for name in _FULL_LISTS):
            expectation_result = copy.copy(expectation_result)
            expectation_result.result = {
                k: v[:STORED_UNEXPECTED_ROWS] if k in _FULL_LISTS and v else v for k, v in info.items()
            }
        stored.results.append(expectation_result)
    return stored


def _site_config(docs_dir: Path, store_dir: Path):
    """Ephemeral context config: GX's own stores in memory, the Data Docs site and its sources on disk."""
    from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults

    defaults = InMemoryStoreBackendDefaults()
    return DataContextConfig(
        stores={
            **defaults.stores,
            "docs_suites": {"class_name": "ExpectationsStore", "store_backend": _backend(store_dir / "expectations")},
            "docs_results": {
                "class_name": "ValidationResultsStore",
                "store_backend": _backend(store_dir / "validations"),
            },
        },
        expectations_store_name=defaults.expectations_store_name,
        validation_results_store_name=defaults.validation_results_store_name,
        checkpoint_store_name=defaults.checkpoint_store_name,
        data_docs_sites={
            SITE: {
                "class_name": "SiteBuilder",
                "store_backend": _backend(docs_dir),
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "site_section_builders": {
                    "expectations": {"source_store_name": "docs_suites"},
                    "validations": {"source_store_name": "docs_results"},
                    "profiling": "None",
                },
            }
        },
    )


def _backend(directory: Path) -> dict:
    return {"module_name": __name__, "class_name": _ATOMIC_BACKEND, "base_directory": str(directory)}


@contextmanager
def _site_lock(store_dir: Path, timeout: float):
    """Hold ``store_dir/.lock`` exclusively (``flock``: released by the OS if this process dies)."""
    store_dir.mkdir(parents=True, exist_ok=True)
    path = store_dir / ".lock"
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise TimeoutError(
                        f"Data Docs: {path} is held by another step (pid {holder}) for over {timeout:g} s"
                    ) from None
                time.sleep(0.05)
        try:
            handle.truncate(0)
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sweep_temporary_files(*roots: Path) -> None:
    """Delete the temporary files of writers that died (called under the site lock: no live writer has any)."""
    for root in roots:
        if root.is_dir():
            for path in root.rglob(".*.tmp"):
                path.unlink(missing_ok=True)


def _remove_with_empty_parents(path: Path, root: Path) -> None:
    path.unlink(missing_ok=True)
    for parent in path.parents:
        if parent == root or root not in parent.parents:
            break
        try:
            parent.rmdir()
        except OSError:  # not empty
            break


def __getattr__(name: str):
    # GX loads the site's store backend class from this module by name; built on first use so that importing
    # this module does not import GX
    if name == _ATOMIC_BACKEND:
        globals()[name] = backend = _atomic_backend_class()
        return backend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _atomic_backend_class():
    from great_expectations.data_context.store import TupleFilesystemStoreBackend

    class AtomicFilesystemStoreBackend(TupleFilesystemStoreBackend):
        """GX's filesystem store, writing each file to ``.<name>.<pid>.tmp`` beside it and renaming it into place."""

        def _set(self, key, value, **kwargs):
            if not isinstance(key, tuple):
                key = key.to_tuple()
            path = Path(self.full_base_directory) / self._convert_key_to_filepath(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temporary.write_bytes(value.encode("utf-8") if isinstance(value, str) else value)
            os.replace(temporary, path)
            return str(path)

    return AtomicFilesystemStoreBackend


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
