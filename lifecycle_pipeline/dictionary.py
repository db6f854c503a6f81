"""The data dictionary of the derived tables: the public contract BI tools read.

Each derived table is described by one YAML file beside the SQL that builds it,
``sql/<layer>/<table>.yml``: its name, grain, DOMAIN.md section, SQL files, description and
every column with its DuckDB type, meaning and (where a value list exists) accepted values.
This module loads and validates those files. The same entries feed the column schema and
asset descriptions of the Dagster UI, the ``COMMENT ON`` descriptions stored in DuckDB,
``docs/data_dictionary.md`` and the layout check of every write (``daily_tables.py``), so the
documentation cannot drift from the tables.

Texts never spell out a configurable number; they name the setting in braces:

- ``{recent_days}``: a field of ``ScoringSettings`` or ``StageSettings``, rendered with its
  default, "recent_days (default 30)";
- ``{playbook.uplift.window_days}``: a key of the outreach playbook, rendered as
  "playbook uplift.window_days" (the playbook is data, so no value is given).

Accepted values name a tuple of ``vocabulary.py`` (``accepted_values: {vocabulary: STAGES}``);
``also: [...]`` adds markers the SQL itself writes (e.g. tier 0, ``'(new)'``). Every
problem (unknown key, missing field, unknown placeholder or vocabulary name) raises
``DictionaryError`` naming the file when the entries are loaded.
"""

from __future__ import annotations

import string
import typing
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from importlib.resources import files

import duckdb
import yaml

from lifecycle_pipeline import vocabulary
from lifecycle_pipeline.db import quote_ident
from lifecycle_pipeline.rule_settings import ScoringSettings, StageSettings

# keys of a table entry, of a column and of accepted_values: (required, optional)
_TABLE_KEYS = ({"name", "grain", "domain", "built_by", "description", "columns"}, {"internal_to"})
_COLUMN_KEYS = ({"name", "type", "description"}, {"accepted_values"})
_ACCEPTED_KEYS = ({"vocabulary"}, {"also"})
DOMAIN_PREFIX = "DOMAIN.md: "
# DuckDB types the derived tables use, as information_schema spells them (the layout check compares them)
TYPES = {
    "BOOLEAN", "SMALLINT", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL(18,2)", "DECIMAL(38,2)", "DATE", "STRUCT(feature VARCHAR, last_date DATE)[]", "TIMESTAMP WITH TIME ZONE",
    "VARCHAR", "VARCHAR[]",
}
_INTEGER_TYPES = {"SMALLINT", "INTEGER", "BIGINT"}


class DictionaryError(ValueError):
    """A data-dictionary YAML file is invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class TableDoc:
    name: str  # schema.table
    grain: str
    description: str
    columns: tuple[tuple[str, str, str], ...]  # (name, DuckDB type, meaning)
    domain: str = ""  # DOMAIN.md section the rules come from
    built_by: tuple[str, ...] = ()  # SQL files that build the table, e.g. sql/scoring/early_warnings.sql
    source: str = ""  # this entry's file, e.g. sql/scoring/early_warnings.yml
    # working state of another asset (its key, e.g. scoring/customer_features): no asset of its own, not published
    internal_to: str = ""
    # column -> accepted values (NULL is always accepted; for a list column, every element)
    accepted_values: Mapping[str, tuple] = field(default_factory=dict, compare=False, hash=False)

    def column_names(self) -> list[str]:
        return [c[0] for c in self.columns]

    def summary(self) -> str:
        """What the table is, its grain and where its rules come from (asset description, table comment)."""
        return (f"{self.description} Grain: {self.grain}. Rules: DOMAIN.md, section {self.domain}; "
                f"SQL: {', '.join(self.built_by)}.")


def load_tables(root=None) -> dict[str, TableDoc]:
    """Every ``*.yml`` entry under ``root`` (default: the installed ``lifecycle_pipeline.sql``), validated."""
    root = files("lifecycle_pipeline.sql") if root is None else root
    placeholders = _Placeholders()
    tables: dict[str, TableDoc] = {}
    for source, node in _yaml_files(root, "sql"):
        doc = _parse(source, node.read_text(encoding="utf-8"), root, placeholders)
        if doc.name in tables:
            raise DictionaryError(f"{source}: {doc.name} is already described in {tables[doc.name].source}")
        tables[doc.name] = doc
    return tables


class _Tables(Mapping):
    """``TABLES``, loaded on first use: the settings the texts name live in scoring.py and stages.py,
    which import daily_tables.py, which imports this module (loading at import would be circular)."""

    def __init__(self) -> None:
        self._tables: dict[str, TableDoc] | None = None

    def _loaded(self) -> dict[str, TableDoc]:
        if self._tables is None:
            self._tables = load_tables()
        return self._tables

    def __getitem__(self, name: str) -> TableDoc:
        return self._loaded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


TABLES: Mapping[str, TableDoc] = _Tables()


# --- loading ------------------------------------------------------------------------------------------


def _yaml_files(folder, prefix: str) -> Iterator[tuple[str, object]]:
    for node in sorted(folder.iterdir(), key=lambda n: n.name):
        if node.is_dir() and node.name != "__pycache__":
            yield from _yaml_files(node, f"{prefix}/{node.name}")
        elif node.name.endswith(".yml"):
            yield f"{prefix}/{node.name}", node


def _check_keys(where: str, entry, keys: tuple[set, set]) -> None:
    required, optional = keys
    if not isinstance(entry, dict):
        raise DictionaryError(f"{where}: expected a mapping with {', '.join(sorted(required))}, got {entry!r}")
    unknown, missing = sorted(set(entry) - required - optional), sorted(required - set(entry))
    if unknown:
        raise DictionaryError(f"{where}: unknown key {', '.join(unknown)} "
                              f"(allowed: {', '.join(sorted(required | optional))})")
    if missing:
        raise DictionaryError(f"{where}: missing {', '.join(missing)}")
    for key in required:
        if entry[key] in (None, "", []):
            raise DictionaryError(f"{where}: {key} is empty")


def _parse(source: str, text: str, root, placeholders: _Placeholders) -> TableDoc:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DictionaryError(f"{source} is not valid YAML: {exc}") from None
    _check_keys(source, raw, _TABLE_KEYS)
    folder, stem = source.rsplit("/", 1)[0], source.rsplit("/", 1)[1].removesuffix(".yml")
    name = str(raw["name"])
    if name.count(".") != 1 or name.split(".")[1] != stem:
        raise DictionaryError(f"{source}: name {name!r} must be <schema>.{stem} (the file is named after its table)")
    built_by = [raw["built_by"]] if isinstance(raw["built_by"], str) else raw["built_by"]
    for path in built_by:
        if not (isinstance(path, str) and path.startswith(folder + "/") and path.endswith(".sql")):
            raise DictionaryError(f"{source}: built_by {path!r} must be a .sql file in {folder}/, beside the entry")
        if not root.joinpath(*path.split("/")[1:]).is_file():
            raise DictionaryError(f"{source}: built_by {path} does not exist")
    domain = str(raw["domain"])
    if not domain.startswith(DOMAIN_PREFIX):
        raise DictionaryError(f"{source}: domain must read '{DOMAIN_PREFIX}<section>', got {domain!r}")
    if not isinstance(raw["columns"], list):
        raise DictionaryError(f"{source}: columns must be a list")
    columns, accepted = [], {}
    for i, column in enumerate(raw["columns"]):
        where = f"{source}: columns[{column.get('name', i) if isinstance(column, dict) else i}]"
        _check_keys(where, column, _COLUMN_KEYS)
        cname, ctype = str(column["name"]), str(column["type"])
        if cname in (c[0] for c in columns):
            raise DictionaryError(f"{where}: column {cname} is listed twice")
        if ctype not in TYPES:
            raise DictionaryError(f"{where}: unknown type {ctype!r} (known: {', '.join(sorted(TYPES))})")
        columns.append((cname, ctype, placeholders.render(str(column["description"]), where)))
        if "accepted_values" in column:
            accepted[cname] = _accepted_values(where, column["accepted_values"], ctype)
    return TableDoc(
        name=name, grain=placeholders.render(str(raw["grain"]), f"{source}: grain"),
        description=placeholders.render(str(raw["description"]), f"{source}: description"),
        columns=tuple(columns), domain=domain.removeprefix(DOMAIN_PREFIX).strip(), built_by=tuple(built_by),
        source=source, accepted_values=accepted, internal_to=str(raw.get("internal_to", "")),
    )


def _accepted_values(where: str, entry, type_: str) -> tuple:
    _check_keys(f"{where}.accepted_values", entry, _ACCEPTED_KEYS)
    name = entry["vocabulary"]
    lists = {k: v for k, v in vars(vocabulary).items() if k.isupper() and isinstance(v, (tuple, dict))}
    if name not in lists:
        raise DictionaryError(f"{where}.accepted_values: unknown vocabulary {name!r} "
                              f"(lifecycle_pipeline/vocabulary.py has {', '.join(sorted(lists))})")
    values = lists[name]
    values = tuple(values.values()) if isinstance(values, dict) else tuple(values)
    also = entry.get("also", [])
    if not isinstance(also, list):
        raise DictionaryError(f"{where}.accepted_values: also must be a list")
    values = (*also, *values)
    expected = int if type_ in _INTEGER_TYPES else str if type_ in ("VARCHAR", "VARCHAR[]") else None
    if expected is None or not all(type(v) is expected for v in values):
        raise DictionaryError(f"{where}.accepted_values: {name} does not fit a {type_} column")
    return values


class _Placeholders:
    """Renders ``{setting}`` and ``{playbook.key}`` in dictionary texts (module docstring)."""

    def __init__(self) -> None:
        from lifecycle_pipeline.outreach.playbook import Playbook

        self.playbook = Playbook
        self.defaults: dict[str, object] = {}
        for settings in _default_settings():
            for name, value in asdict(settings).items():
                if name in self.defaults:
                    raise DictionaryError(f"setting {name} exists in two settings classes: a placeholder "
                                          "would be ambiguous")
                self.defaults[name] = value

    def render(self, text: str, where: str) -> str:
        text = " ".join(text.split())
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise DictionaryError(f"{where}: {exc} (a literal brace is written {{{{ or }}}})") from None
        out = []
        for literal, name, spec, conversion in parts:
            out.append(literal)
            if name is None:
                continue
            if spec or conversion:
                raise DictionaryError(f"{where}: placeholder {{{name}}} takes no format")
            out.append(self._value(name, where))
        return "".join(out)

    def _value(self, name: str, where: str) -> str:
        if name.startswith("playbook."):
            self._check_playbook_key(name, where)
            return "playbook " + name.removeprefix("playbook.")
        if name not in self.defaults:
            raise DictionaryError(
                f"{where}: unknown placeholder {{{name}}}: name a field of ScoringSettings or StageSettings "
                "(e.g. {recent_days}) or a playbook key (e.g. {playbook.uplift.window_days})")
        return f"{name} (default {_number(self.defaults[name])})"

    def _check_playbook_key(self, name: str, where: str) -> None:
        model = self.playbook
        for part in name.split(".")[1:]:
            if model is None or part not in model.model_fields:
                raise DictionaryError(f"{where}: unknown placeholder {{{name}}}: the playbook has no key {part!r} "
                                      "there")
            annotation = model.model_fields[part].annotation
            inner = [a for a in (annotation, *typing.get_args(annotation)) if hasattr(a, "model_fields")]
            model = inner[0] if inner else None


def _default_settings() -> tuple:
    """The settings whose fields texts may name, with their defaults (the stage preset is ecommerce)."""
    return ScoringSettings(), StageSettings()


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return str(value)


# --- users of the entries -----------------------------------------------------------------------------


# Questions BI users ask, answered with one query each (rendered into docs/data_dictionary.md; tested).
EXAMPLE_QUERIES: dict[str, str] = {
    "How many customers moved from at_risk to dormant in the last 7 days?": """\
select coalesce(sum(customers), 0) as moved
from lifecycle.stage_transitions_daily
where from_stage = 'at_risk'
    and to_stage = 'dormant'
    and as_of_date > (select max(as_of_date) from lifecycle.customer_stage_daily) - 7""",
    "How many customers are in each stage today, and how did that change in 30 days?": """\
select today.stage, today.customers, today.customers - before.customers as change_30d
from lifecycle.stage_counts_current as today
left join lifecycle.stage_counts_daily as before
    on before.stage = today.stage and before.as_of_date = today.as_of_date - 30
order by today.stage_order""",
    "Which loyal customers have a warning tier today, with their health?": """\
select customer_id, days_in_stage, warning_tier, health_band, rfm_segment
from lifecycle.customer_stage_current
where stage in ('loyal', 'advocate') and warning_tier > 0
order by warning_tier desc, customer_id""",
    "Whom did each campaign reach on the latest outreach day, and why were the others left out?": """\
select campaign,
    count(*) filter (where status = 'contacted') as contacted,
    count(*) filter (where status = 'holdout') as held_out,
    count(*) filter (where list_contains(reasons_excluded, 'suppressed')) as suppressed,
    count(*) filter (where list_contains(reasons_excluded, 'no_consent')) as no_consent,
    count(*) filter (where list_contains(reasons_excluded, 'frequency_cap')) as frequency_cap,
    count(*) filter (where list_contains(reasons_excluded, 'lower_priority')) as lower_priority
from outreach.outreach_list
where as_of_date = (select max(as_of_date) from outreach.outreach_list)
group by campaign
order by campaign""",
}

_INTRO = """\
# Data dictionary

Generated by `lifecycle-pipeline docs` from the entries beside the SQL (`sql/<layer>/<table>.yml`,
loaded by `lifecycle_pipeline/dictionary.py`) and from `lifecycle_pipeline/contracts.py`; a test
fails when this file is out of date. The same descriptions are stored in DuckDB (`COMMENT ON`:
`select * from duckdb_columns()`) and shown in the Dagster UI. Where a rule depends on a setting,
the text names it with its default, e.g. "recent_days (default 30)": fields of `ScoringSettings`
(`ScoringConfig`) and `StageSettings` (`StageConfig`, preset ecommerce); "playbook uplift.window_days"
is a key of the outreach playbook. Tables are stable names in the DuckDB file `data/warehouse.duckdb`
(`LIFECYCLE_DUCKDB_PATH`); the `lifecycle` schema is the BI contract, `scoring` holds the
scores, `clean` the validated source rows. Every daily table has one row set per
`as_of_date`; the `*_current` views (`lifecycle.customer_stage_current`,
`lifecycle.stage_counts_current`, `lifecycle.stage_transitions_current`, `lifecycle.kpis_current`)
show the latest computed day. The `outreach` schema holds the daily outreach lists, the
contact history and the campaign uplift."""


def _values(values) -> str:
    return ", ".join(f"`{v}`" for v in values) if values else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a table cell: "|z|" would end the cell


def render_markdown() -> str:
    """``docs/data_dictionary.md``: every derived table and column, the clean source tables, example queries."""
    from lifecycle_pipeline.contracts import SOURCES

    lines = [_INTRO, "", "## Example queries", ""]
    for question, query in EXAMPLE_QUERIES.items():
        lines += [f"**{question}**", "", "```sql", query, "```", ""]
    header = ["| column | type | meaning | accepted values |", "|---|---|---|---|"]
    for doc in sorted(TABLES.values(), key=lambda d: (not d.name.startswith("lifecycle."), d.name)):
        built_by = ", ".join(f"`{path}`" for path in doc.built_by)
        lines += [f"## `{doc.name}`", "", doc.description, "",
                  f"Grain: {doc.grain}. Rules: DOMAIN.md, section *{doc.domain}*. SQL: {built_by}; "
                  f"entry: `{doc.source}`." + (f" Working state of `{doc.internal_to}`: not an asset of its own, "
                                               "not published to BI." if doc.internal_to else ""), "", *header]
        lines += [f"| `{name}` | {type_} | {_cell(meaning)} | {_values(doc.accepted_values.get(name))} |"
                  for name, type_, meaning in doc.columns]
        lines.append("")
    for contract in SOURCES.values():
        lines += [f"## `clean.{contract.name}`", "",
                  f"{contract.description} Validated rows of the landing files; rejected rows are in "
                  "`quality.quarantine` with the reason.", "", *header]
        lines += [f"| `{c.name}` | {c.type} | {_cell(c.description)} | {_values(c.allowed_values)} |"
                  for c in contract.columns]
        lines += ["| `_partition_date` | DATE | Landing day (partition) the row was loaded from. | |", ""]
    return "\n".join(lines)


def asset_description(table: str) -> str:
    """The description the Dagster UI shows for the asset that writes ``table``."""
    return TABLES[table].summary()


def describe_columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, type) of ``table``'s columns as DuckDB reports them."""
    schema, name = table.split(".")
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def apply_comments(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """Store the dictionary's table and column descriptions in DuckDB (``COMMENT ON``)."""
    doc = TABLES[table]
    schema, name = table.split(".")
    target = f"{quote_ident(schema)}.{quote_ident(name)}"
    # COMMENT ON takes a literal, not a parameter; the text is ours (the YAML entries), quotes doubled.
    literal = lambda text: "'" + text.replace("'", "''") + "'"  # noqa: E731
    conn.execute(f"comment on table {target} is {literal(doc.summary())}")
    for column, _type, meaning in doc.columns:
        conn.execute(f"comment on column {target}.{quote_ident(column)} is {literal(meaning)}")


def accepted_value_violations(conn: duckdb.DuckDBPyConnection, table: str) -> dict[str, list]:
    """Values of ``table`` outside their column's accepted values, per column (empty: none)."""
    doc = TABLES[table]
    target = ".".join(quote_ident(part) for part in table.split("."))
    types = {name: type_ for name, type_, _ in doc.columns}
    found = {}
    for column, values in doc.accepted_values.items():
        expression = f"unnest({quote_ident(column)})" if types[column].endswith("[]") else quote_ident(column)
        rows = conn.execute(
            f"select distinct value from (select {expression} as value from {target}) "
            "where value is not null and not list_contains(?, value) order by value", [list(values)]
        ).fetchall()
        if rows:
            found[column] = [r[0] for r in rows]
    return found
