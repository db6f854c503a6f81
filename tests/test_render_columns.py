"""Rendering many customers at once (``Renderer.render_columns``) equals rendering each on their own.

The reference renders every row in full with its real values (a renderer whose ``plan`` is
switched off); the fast path renders once per distinct combination of the values a template
reads and fills printed-only variables (slots) in per row. Rows mix repeated values, unique
offer codes, values jinja2 escapes, empty and missing values, blank space and line breaks.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from lifecycle_pipeline.outreach.loader import DEFAULT_TEMPLATES, load_playbook
from lifecycle_pipeline.outreach.playbook import parse_playbook
from lifecycle_pipeline.outreach.rendering import VARIABLES, Renderer, TemplateProblem
from tests.test_outreach import write_template

FIRST_NAMES = ["Ada", "Zoë", "", None, "  Bo  ", "<b>Al</b>", "O'Neil & \"Co\"", "Line\nBreak", "0", "=1+1"]
OFFERS = [None, "", "SPRING-<10>", "A&B"]


def rows(n: int, seed: int = 7) -> dict[str, list]:
    """``n`` customers as columns: a few first names and categories shared by many, unique offer codes."""
    pick = random.Random(seed)
    columns: dict[str, list] = {name: [] for name in VARIABLES}
    for i in range(n):
        row = dict.fromkeys(VARIABLES)
        row.update(
            customer_id=f"C{i}", first_name=pick.choice(FIRST_NAMES), last_name=pick.choice(["Li", None, "  "]),
            phone=pick.choice(["+15550000001", None]), stage=pick.choice(["dormant", "active"]),
            previous_stage=pick.choice(["active", None]), days_in_stage=pick.choice([0, 1, 30]),
            days_since_last_order=pick.choice([None, 0, 45, 400]), orders_lifetime=pick.choice([0, 1, 2, 7]),
            lifetime_revenue=pick.choice([Decimal("0.00"), Decimal("12.50"), None]),
            favourite_category=pick.choice(["books", "garden & home", None, ""]),
            health_score=pick.choice([None, 0.0, 61.5]), health_band=pick.choice(["stable", None]),
            warning_tier=pick.choice([None, 1, 3]), rfm_segment=pick.choice(["champions", None]),
            offer_code=pick.choice(OFFERS) if i % 3 else f"CODE-{i:06d}",  # a third unique per customer
            offer_description=pick.choice(["15% off", "<i>free</i> shipping", None]),
            offer_expires=pick.choice([dt.date(2026, 3, 22), None]),
            campaign="c", channel="email", as_of_date=dt.date(2026, 3, 1), playbook_version="v1",
        )
        for name in VARIABLES:
            columns[name].append(row[name])
    return columns


def one_at_a_time(templates) -> Renderer:
    reference = Renderer(templates)
    reference.plan = lambda name: None  # every row rendered in full with its own values
    return reference


def campaign(template: str, channel: str = "email"):
    book = parse_playbook(f"version: t\ncampaigns:\n  - {{id: cc, target: {{stages: [dormant]}}, channel: {channel}, "
                          f"template: {template}, priority: 1}}\n")
    return book.active_campaigns[0]


@pytest.mark.parametrize("shipped", sorted({c.template: c for c in load_playbook().active_campaigns}.values(),
                                           key=lambda c: c.template), ids=lambda c: c.template)
def test_every_shipped_template_renders_the_same_for_many_customers_as_one_at_a_time(shipped):
    columns = rows(600)
    fast = Renderer(DEFAULT_TEMPLATES).render_columns(shipped, columns)
    assert fast == one_at_a_time(DEFAULT_TEMPLATES).render_columns(shipped, columns)
    assert any(text is not None for text in fast["body_text"])


TRICKY = {
    # printed and tested: slots
    "slots": {"subject.j2": "{{ first_name or 'there' }}, {{ offer_code }}",
              "body.txt.j2": "{% if offer_code %}Code {{ offer_code }}{% else %}none{% endif %} {{ first_name }}\n",
              "body.html.j2": "{{ first_name }}<p>{% for i in range(2) %}{{ offer_code }};{% endfor %}</p>\n"},
    # transformed, captured or re-escaped: keyed on their values
    "transformed": {"subject.j2": "{{ first_name|upper }} {{ (offer_code or '')|length }}",
                    "body.txt.j2": "{% set x %}{{ offer_code }}{% endset %}{{ x|lower }}|{{ first_name|trim }}\n",
                    "body.html.j2": "{% autoescape false %}{{ first_name }}{% endautoescape %} {{ offer_code }}\n"},
    # blank space around the text and around the values (trimmed as a full render trims it)
    "edges": {"subject.j2": "  {{ first_name }}   hi \n {{ offer_code }}  ",
              "body.txt.j2": "\n\n   Dear {{ first_name }},\n{{ offer_code }}  done   \n\n\n",
              "body.html.j2": "\n {{ offer_code }}\n<p> x </p>\n\n"},
    # a text template including an HTML partial (escaping differs between them)
    "mixed": {"subject.j2": "{% include 'mixed/part.html.j2' %}",
              "body.txt.j2": "{{ offer_code }} {% include 'mixed/part.html.j2' %}\n",
              "body.html.j2": "{{ offer_code }}\n",
              "part.html.j2": "{{ offer_code }}/{{ first_name }}"},
}


@pytest.mark.parametrize("template", sorted(TRICKY))
def test_templates_that_transform_capture_or_mix_escaping_render_the_same_as_one_at_a_time(tmp_path, template):
    templates = write_template(tmp_path, template, TRICKY[template])
    columns = rows(300, seed=11)
    fast = Renderer(templates).render_columns(campaign(template), columns)
    assert fast == one_at_a_time(templates).render_columns(campaign(template), columns)


def test_printed_values_are_slots_and_transformed_or_random_ones_are_not(tmp_path):
    for name, parts in (*TRICKY.items(), ("dice", {"body.txt.j2": "{{ ['a', 'b']|random }} {{ first_name }}\n"})):
        write_template(tmp_path, name, parts)
    renderer = Renderer(tmp_path)
    assert renderer.plan("slots/body.txt.j2").slots == ("first_name", "offer_code")
    assert renderer.plan("slots/subject.j2").slots == ("first_name", "offer_code")
    assert renderer.plan("transformed/subject.j2").slots == ()
    assert renderer.plan("transformed/body.txt.j2").slots == ()  # {% set %} block: nothing is a slot
    assert renderer.plan("mixed/body.txt.j2").slots == ()  # escaped in one file, not in the other
    assert renderer.plan("dice/body.txt.j2") is None  # two renders may differ: every row rendered
    shipped = Renderer(DEFAULT_TEMPLATES).plan("limited_time_benefit/body.html.j2")
    assert shipped.escape and shipped.keyed == ()  # every value it reads is only printed or tested
    assert shipped.slots == ("favourite_category", "first_name", "offer_code", "offer_description", "offer_expires")


def test_twenty_thousand_distinct_offer_codes_share_one_render_per_part(monkeypatch):
    renderer = Renderer(DEFAULT_TEMPLATES)
    calls = []
    original = renderer._render_part
    monkeypatch.setattr(renderer, "_render_part", lambda *args: calls.append(1) or original(*args))
    n = 20_000
    columns = {name: [None] * n for name in VARIABLES} | {
        "customer_id": [f"C{i}" for i in range(n)], "first_name": ["Ada", "Bo"] * (n // 2),
        "offer_code": [f"CODE-{i}" for i in range(n)], "offer_description": ["15% off"] * n,
        "favourite_category": ["books"] * n}
    bodies = renderer.render_columns(campaign("limited_time_benefit"), columns)["body_text"]
    assert len(set(bodies)) == n and "CODE-19999" in bodies[-1]
    assert len(calls) == 3  # one render per part: every value is a slot, and every row's are all present


def test_an_error_names_the_first_customer_whose_values_fail(tmp_path):
    templates = write_template(tmp_path, "div", {"body.txt.j2": "{{ 100 // orders_lifetime }} {{ offer_code }}\n"})
    columns = {name: [None] * 3 for name in VARIABLES} | {
        "customer_id": ["A", "B", "C"], "orders_lifetime": [2, 0, 0], "offer_code": ["X", "Y", "Z"]}
    with pytest.raises(TemplateProblem, match=r"template div/body.txt.j2, line 1: .*division.* "
                                              r"\(campaign cc, customer B\)"):
        Renderer(templates).render_columns(campaign("div", "sms"), columns)
