"""Rendering campaign messages with jinja2: sandboxed, strict, HTML autoescaped.

Templates live in ``<templates>/<template>/``: ``subject.j2``, ``body.txt.j2`` and
``body.html.j2`` (the parts a channel needs: ``playbook.CHANNEL_PARTS``); shared layouts
(``_layouts/``) can be extended or included. The environment is a ``SandboxedEnvironment``
(no access to Python internals such as ``__class__``), undefined variables raise
(``StrictUndefined``) and ``*.html.j2`` files escape every value. A problem is reported
as ``template <file>, line <n>: <what>`` both when the playbook is checked (syntax,
unknown variables) and when a message is rendered.

A day's messages are rendered in bulk (``Renderer.render_columns``): once per distinct
combination of the values a template reads, with values it only prints filled in per customer
(``RenderPlan``); the result equals rendering every customer on their own
(``tests/test_render_columns.py``).
"""

from __future__ import annotations

import re
import secrets
import traceback
from dataclasses import dataclass
from pathlib import Path

import jinja2
import markupsafe
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from lifecycle_pipeline.outreach.playbook import (
    CHANNEL_PARTS,
    Campaign,
    Playbook,
    PlaybookError,
)

# what a template can use: one row of the outreach list (sql/outreach/outreach_candidates.sql)
VARIABLES: dict[str, str] = {
    "customer_id": "Customer identifier.",
    "first_name": "Given name (empty when unknown: write `{{ first_name or 'there' }}`).",
    "last_name": "Family name.",
    "email": "Email address.",
    "phone": "Phone number.",
    "country": "ISO country code.",
    "segment": "Plan or customer segment.",
    "stage": "Lifecycle stage today.",
    "previous_stage": "Stage the day before (empty for a new customer).",
    "days_in_stage": "Days in the current stage.",
    "days_since_last_order": "Days since the last completed order (empty: no order yet).",
    "orders_lifetime": "Completed orders to date.",
    "lifetime_revenue": "Net revenue of completed orders to date.",
    "favourite_category": "Category of most completed orders (empty: no category known).",
    "health_score": "Customer health score 0-100.",
    "health_band": "healthy / stable / concerning / critical.",
    "warning_tier": "Early-warning tier 1-3 (empty: none).",
    "rfm_segment": "RFM segment (champions, at_risk, ...).",
    "offer_code": "The campaign's offer code for this customer (empty: no offer).",
    "offer_description": "What the offer gives.",
    "offer_expires": "Last day the offer is valid (empty: no end).",
    "campaign": "Campaign id.",
    "channel": "email / sms / call_task.",
    "as_of_date": "The list day (the customer's data as of its end).",
    "playbook_version": "Version of the playbook that produced the list.",
}

PART_COLUMNS = {"subject.j2": "subject", "body.txt.j2": "body_text", "body.html.j2": "body_html"}


class TemplateProblem(PlaybookError):
    """A template cannot be parsed or rendered; the message names the template, the line and the cause."""


# the longest message part a template may render (characters); a template that would build a
# bigger string (e.g. ``'x' * 10**8``) fails naming the template instead of exhausting memory
MAX_RENDERED_CHARS = 100_000


class _CappedSandbox(SandboxedEnvironment):
    """jinja2's sandbox, plus a size limit on string / list repetition and powers."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            sequence, times = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(sequence, (str, list, tuple)) and isinstance(times, int) \
                    and len(sequence) * times > MAX_RENDERED_CHARS:
                raise SecurityError(f"a repetition of {len(sequence) * times} items exceeds the limit "
                                    f"of {MAX_RENDERED_CHARS}")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError(f"an exponent of {right} exceeds the limit of 64")
        return super().call_binop(context, operator, left, right)


@dataclass(frozen=True)
class RenderPlan:
    """A template's variables: ``keyed`` ones select a render, ``slots`` are filled in per row."""

    keyed: tuple[str, ...]
    slots: tuple[str, ...]
    escape: bool  # the slots are HTML-escaped (an autoescaped template)


# blocks that capture, filter or re-escape output: a template using one gets no slots
_NO_SLOTS = (nodes.AssignBlock, nodes.FilterBlock, nodes.Macro, nodes.CallBlock, nodes.EvalContextModifier,
             nodes.Import, nodes.FromImport)


def _only_printed_or_tested(tree: nodes.Template, variable: str) -> bool:
    """Every use of ``variable`` in ``tree`` is ``{{ variable }}``, ``{{ variable or 'text' }}`` or
    ``{% if variable %}`` (so its value reaches the output only as its own escaped text)."""
    allowed: set[int] = set()
    for output in tree.find_all(nodes.Output):
        for child in output.nodes:
            if isinstance(child, nodes.Name):
                allowed.add(id(child))
            elif isinstance(child, nodes.Or) and isinstance(child.left, nodes.Name) \
                    and isinstance(child.right, nodes.Const) and isinstance(child.right.value, str):
                allowed.add(id(child.left))
    for branch in tree.find_all(nodes.If):
        if isinstance(branch.test, nodes.Name):
            allowed.add(id(branch.test))
    return all(id(n) in allowed and n.ctx == "load" for n in tree.find_all(nodes.Name) if n.name == variable)


_HTML_SPECIAL = re.compile("[&<>'\"]")


def _as_html(value) -> str:
    """A value as an autoescaped ``{{ value }}`` prints it (``markupsafe.escape``), quicker for plain text."""
    if value.__class__ is str and not _HTML_SPECIAL.search(value):
        return value
    return str(markupsafe.escape(value))


def _finish(text: str, part: str) -> str:
    """A rendered part as sent: a subject on one line, a body without surrounding blank space."""
    return " ".join(text.split()) if part == "subject.j2" else text.strip() + "\n"


@dataclass(frozen=True)
class _Message:
    """One render, cut at its slot markers: text pieces and slot positions, filled in per row."""

    pieces: tuple[str | int, ...]
    finished: bool  # the pieces are already trimmed as _finish would (the slots' values are not at an edge)

    @classmethod
    def of(cls, text: str, part: str, markers: dict[str, int]) -> _Message:
        found = [m for m in markers if m in text]
        if not found:
            return cls((_finish(text, part),), True)
        pieces = re.split("(" + "|".join(map(re.escape, found)) + ")", text)
        # a value at an edge of the text or in a subject is trimmed per row, like a full render
        finished = not (part == "subject.j2" or pieces[0].strip() == "" or pieces[-1].strip() == "")
        if finished:
            pieces[0], pieces[-1] = pieces[0].lstrip(), pieces[-1].rstrip() + "\n"
        return cls(tuple(markers[p] if i % 2 else p for i, p in enumerate(pieces)), finished)

    def fill(self, values: list, as_text) -> str:
        if len(self.pieces) == 1:
            return self.pieces[0]
        return "".join([p if p.__class__ is str else as_text(values[p]) for p in self.pieces])


def _blank_none(value):
    # a missing value (SQL NULL) renders as nothing, not as "None"
    return "" if value is None else value


class Renderer:
    """The sandboxed jinja2 environment of one templates folder."""

    def __init__(self, templates_dir: Path | str):
        self.templates_dir = Path(templates_dir)
        self.env = _CappedSandbox(
            loader=jinja2.FileSystemLoader(str(self.templates_dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
            finalize=_blank_none,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,
        )
        self._compiled: dict[str, jinja2.Template] = {}
        self._plans: dict[str, RenderPlan | None] = {}
        # a slot's marker while rendering (NUL-delimited and random: no template text or value holds it)
        self._markers = {v: f"\x00{secrets.token_hex(8)}:{v}\x00" for v in VARIABLES}

    # --- checking (when the playbook is loaded) ---------------------------------------

    def check(self, playbook: Playbook) -> None:
        """Raise ``TemplateProblem`` listing every missing template, syntax error and unknown variable."""
        if not self.templates_dir.is_dir():
            raise TemplateProblem(f"templates folder {self.templates_dir} does not exist")
        problems: list[str] = []
        checked: set[str] = set()
        for campaign in playbook.active_campaigns:
            for part in CHANNEL_PARTS[campaign.channel]:
                name = f"{campaign.template}/{part}"
                if not (self.templates_dir / name).is_file():
                    problems.append(
                        f"campaign {campaign.id}: template {name} does not exist in {self.templates_dir} "
                        f"(a {campaign.channel} template needs {', '.join(CHANNEL_PARTS[campaign.channel])})")
                    continue
                problems += self._check_file(name, checked)
        if problems:
            raise TemplateProblem("templates are invalid:\n" + "\n".join(f"  - {p}" for p in problems))

    def _check_file(self, name: str, checked: set[str]) -> list[str]:
        if name in checked:
            return []
        checked.add(name)
        try:
            source = self.env.loader.get_source(self.env, name)[0]
        except jinja2.TemplateNotFound:
            return [f"template {name} does not exist in {self.templates_dir}"]
        try:
            tree = self.env.parse(source, name=name)
        except jinja2.TemplateSyntaxError as exc:
            return [f"template {name}, line {exc.lineno}: {exc.message}"]
        problems = []
        for variable in sorted(meta.find_undeclared_variables(tree) - set(VARIABLES) - set(self.env.globals)):
            line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == variable), "?")
            problems.append(f"template {name}, line {line}: '{variable}' is undefined "
                            f"(known variables: {', '.join(VARIABLES)})")
        for referenced in meta.find_referenced_templates(tree):
            if referenced is None:
                problems.append(f"template {name}: includes or extends a template chosen at render time")
            else:
                problems += self._check_file(referenced, checked)
        return problems

    # --- rendering ----------------------------------------------------------------------

    def _template(self, name: str) -> jinja2.Template:
        if name not in self._compiled:
            try:
                self._compiled[name] = self.env.get_template(name)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateProblem(f"template {exc.name or name}, line {exc.lineno}: {exc.message}") from None
            except jinja2.TemplateNotFound as exc:
                raise TemplateProblem(f"template {exc.name} does not exist in {self.templates_dir}") from None
        return self._compiled[name]

    def plan(self, name: str) -> RenderPlan | None:
        """How template ``name`` (with every template it extends or includes) is rendered for many rows.

        None when two renders of the same values may differ (``random``, ``lipsum``) or a template
        is chosen at render time: such a template is rendered for every row.
        """
        if name not in self._plans:
            self._plans[name] = self._read_plan(name)
        return self._plans[name]

    def _trees(self, name: str, trees: dict[str, nodes.Template]) -> bool:
        """Parse ``name`` and the templates it references into ``trees``; False: one is chosen at render time."""
        self._template(name)  # a missing or broken template is reported as on rendering
        trees[name] = tree = self.env.parse(self.env.loader.get_source(self.env, name)[0], name=name)
        for referenced in meta.find_referenced_templates(tree):
            if referenced is None or (referenced not in trees and not self._trees(referenced, trees)):
                return False
        return True

    def _read_plan(self, name: str) -> RenderPlan | None:
        trees: dict[str, nodes.Template] = {}
        if not self._trees(name, trees) or any(
                any(f.name == "random" for f in tree.find_all(nodes.Filter))
                or any(n.name == "lipsum" for n in tree.find_all(nodes.Name)) for tree in trees.values()):
            return None
        variables = set().union(*(meta.find_undeclared_variables(t) for t in trees.values())) - set(self.env.globals)
        escaping = {bool(self.env.autoescape(n)) if callable(self.env.autoescape) else bool(self.env.autoescape)
                    for n in trees}
        slots: set[str] = set()
        if len(escaping) == 1 and not any(tree.find(_NO_SLOTS) for tree in trees.values()):
            slots = {v for v in variables if all(_only_printed_or_tested(t, v) for t in trees.values())}
        return RenderPlan(keyed=tuple(sorted(variables - slots)), slots=tuple(sorted(slots)),
                          escape=escaping == {True})

    def variables_for(self, campaign: Campaign) -> tuple[str, ...]:
        """The variables ``campaign``'s templates read (all of ``VARIABLES`` if one has no plan)."""
        plans = [self.plan(f"{campaign.template}/{part}") for part in CHANNEL_PARTS[campaign.channel]]
        if any(plan is None for plan in plans):
            return tuple(VARIABLES)
        return tuple(sorted({v for plan in plans for v in (*plan.keyed, *plan.slots)}))

    def render(self, campaign: Campaign, context: dict) -> dict[str, str | None]:
        """The message parts of ``campaign`` for one customer: subject, body_text, body_html (None = no such part)."""
        columns = self.render_columns(campaign, {name: [context.get(name)] for name in VARIABLES})
        return {column: values[0] for column, values in columns.items()}

    def render_columns(self, campaign: Campaign, columns: dict[str, list]) -> dict[str, list[str | None]]:
        """The message parts of ``campaign`` for many customers, given as columns (``variables_for``
        and ``customer_id``, equally long): ``{"subject": [...], "body_text": [...], "body_html": [...]}``
        (a part the channel has not: all None). Equal to rendering every customer on its own.

        A part is rendered once per distinct combination of the values its template reads
        (``plan``) and reused for every row with the same values: a template's output is a
        function of those values alone (the sandbox has no clock, files or state). Values are
        compared by ``repr`` (1 and 1.0, or 1.0 and 1.00, stay apart). A variable the template
        only prints (``{{ offer_code }}``, ``{{ first_name or 'there' }}``) or tests
        (``{% if offer_code %}``) is a *slot*: rendered as a marker while its value is truthy,
        and the row's value (escaped as jinja2 would) replaces the marker afterwards, so
        customers with unique offer codes still share one render. The first failing row stops
        everything (``TemplateProblem``).
        """
        customers = columns["customer_id"]
        results: dict[str, list[str | None]] = {c: [None] * len(customers) for c in PART_COLUMNS.values()}
        for part in CHANNEL_PARTS[campaign.channel]:
            name, texts = f"{campaign.template}/{part}", results[PART_COLUMNS[part]]
            template, plan = self._template(name), self.plan(name)
            keyed, slots = (tuple(VARIABLES), ()) if plan is None else (plan.keyed, plan.slots)
            as_text = _as_html if plan is not None and plan.escape else str
            markers = {self._markers[v]: i for i, v in enumerate(slots)}
            keyed_rows = list(zip(*(columns[v] for v in keyed))) if keyed else [()] * len(customers)
            slot_rows = list(zip(*(columns[v] for v in slots))) if slots else [()] * len(customers)
            done: dict[tuple, _Message] = {}
            for i, (keyed_values, values) in enumerate(zip(keyed_rows, slot_rows)):
                key = None if plan is None else (
                    tuple([repr(v) for v in keyed_values]), tuple([True if v else repr(v) for v in values]))
                message = done.get(key) if key is not None else None
                if message is None:
                    context = dict(zip(keyed, keyed_values))
                    context.update({v: self._markers[v] if value else value for v, value in zip(slots, values)})
                    message = _Message.of(self._render_part(campaign, name, template, context, customers[i]),
                                          part, markers)
                    if key is not None:
                        done[key] = message
                text = message.fill(values, as_text)
                if len(text) > MAX_RENDERED_CHARS:
                    raise TemplateProblem(
                        f"template {name}: renders {len(text)} characters, more than the limit of "
                        f"{MAX_RENDERED_CHARS} (campaign {campaign.id}, customer {customers[i]})")
                texts[i] = text if message.finished else _finish(text, part)
        return results

    def _render_part(self, campaign: Campaign, name: str, template: jinja2.Template, context: dict,
                     customer_id) -> str:
        try:
            return template.render(context)
        except (jinja2.TemplateError, SecurityError, ArithmeticError, TypeError, ValueError) as exc:
            where = self._failing_location(exc, name)
            cause = f"blocked by the sandbox: {exc}" if isinstance(exc, SecurityError) else str(exc)
            raise TemplateProblem(
                f"{where}: {cause} (campaign {campaign.id}, customer {customer_id})"
            ) from None

    def _failing_location(self, exc: BaseException, name: str) -> str:
        """``template <file>, line <n>`` of the innermost template frame of ``exc``'s traceback."""
        root = str(self.templates_dir.resolve())
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            filename = str(Path(frame.filename).resolve()) if frame.filename else ""
            if filename.startswith(root):
                relative = Path(filename).relative_to(root).as_posix()
                return f"template {relative}, line {frame.lineno}"
        return f"template {name}"
