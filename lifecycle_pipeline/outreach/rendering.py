"""Rendering campaign messages with jinja2: sandboxed, strict, HTML autoescaped.

Templates live in ``<templates>/<template>/``: ``subject.j2``, ``body.txt.j2`` and
``body.html.j2`` (the parts a channel needs: ``playbook.CHANNEL_PARTS``); shared layouts
(``_layouts/``) can be extended or included. The environment is a ``SandboxedEnvironment``
(no access to Python internals such as ``__class__``), undefined variables raise
(``StrictUndefined``) and ``*.html.j2`` files escape every value. A problem is reported
as ``template <file>, line <n>: <what>`` both when the playbook is checked (syntax,
unknown variables) and when a message is rendered.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import jinja2
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

    def render(self, campaign: Campaign, context: dict) -> dict[str, str | None]:
        """The message parts of ``campaign`` for one customer: subject, body_text, body_html (None = no such part)."""
        parts: dict[str, str | None] = dict.fromkeys(PART_COLUMNS.values())
        for part in CHANNEL_PARTS[campaign.channel]:
            name = f"{campaign.template}/{part}"
            template = self._template(name)
            try:
                text = template.render(context)
            except (jinja2.TemplateError, SecurityError, ArithmeticError, TypeError, ValueError) as exc:
                where = self._failing_location(exc, name)
                cause = f"blocked by the sandbox: {exc}" if isinstance(exc, SecurityError) else str(exc)
                raise TemplateProblem(
                    f"{where}: {cause} (campaign {campaign.id}, customer {context.get('customer_id')})"
                ) from None
            if len(text) > MAX_RENDERED_CHARS:
                raise TemplateProblem(
                    f"template {name}: renders {len(text)} characters, more than the limit of {MAX_RENDERED_CHARS} "
                    f"(campaign {campaign.id}, customer {context.get('customer_id')})")
            parts[PART_COLUMNS[part]] = " ".join(text.split()) if part == "subject.j2" else text.strip() + "\n"
        return parts

    def _failing_location(self, exc: BaseException, name: str) -> str:
        """``template <file>, line <n>`` of the innermost template frame of ``exc``'s traceback."""
        root = str(self.templates_dir.resolve())
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            filename = str(Path(frame.filename).resolve()) if frame.filename else ""
            if filename.startswith(root):
                relative = Path(filename).relative_to(root).as_posix()
                return f"template {relative}, line {frame.lineno}"
        return f"template {name}"
