"""Outreach on hand-built customers: the playbook's validation, the guards (consent, suppression, frequency cap,
cooldown, priority, holdout), template safety and errors, byte-identical exports and the uplift
(DOMAIN.md, Outreach playbook)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import shutil
from pathlib import Path

import duckdb
import pytest

from lifecycle_pipeline import sql
from lifecycle_pipeline.dictionary import EXAMPLE_QUERIES
from lifecycle_pipeline.outreach.lists import build_outreach_day
from lifecycle_pipeline.outreach.loader import DEFAULT_TEMPLATES, load_playbook
from lifecycle_pipeline.outreach.playbook import PlaybookError, parse_playbook
from lifecycle_pipeline.outreach.rendering import Renderer, TemplateProblem
from lifecycle_pipeline.outreach.uplift import compute_uplift
from lifecycle_pipeline.stages import StageSettings, build_stage_days
from lifecycle_pipeline.vocabulary import STAGES
from tests.builders import add_customer, add_order, add_suppression, at, stored_fit
from tests.scenarios import score_days

D = dt.date(2026, 6, 30)


def day_(offset: int) -> dt.date:
    return D + dt.timedelta(days=offset)


def playbook(campaigns: str, extra: str = ""):
    return parse_playbook(f"version: test-1\n{extra}\ncampaigns:\n{campaigns}")


RECALL = """
  - {id: recall_email, target: {stages: [dormant]}, channel: email, template: dormant_recall, priority: 1,
     cooldown_days: 30, holdout_share: 0, offer: {code: COMEBACK15, description: 15% off, valid_days: 21}}
  - {id: recall_sms, target: {stages: [dormant]}, channel: sms, template: dormant_recall_sms, priority: 2,
     cooldown_days: 30, holdout_share: 0, offer: {code: COMEBACK15, description: 15% off, valid_days: 21}}
"""


def run_day(conn, tmp_path, book, day=D, templates=DEFAULT_TEMPLATES):
    score_days(conn, [day])
    build_stage_days(conn, [day], StageSettings())
    return build_outreach_day(conn, day, "UTC", book, Renderer(templates), tmp_path / "exports")


def dormant(conn, cid, **extra):
    """A customer whose only order was 100 days before D (dormant from D-9 to D+80), consenting to email."""
    values = {"first_name": cid.title(), "email": f"{cid.lower()}@example.com", "email_opt_in": True, **extra}
    add_customer(conn, cid, signup="2025-01-01T00:00:00Z", **values)
    add_order(conn, f"{cid}-1", cid, at(day_(-100)), category="books")


def decisions(conn, day=D) -> dict[tuple[str, str], tuple[str, list[str]]]:
    rows = conn.execute("select customer_id, campaign, status, reasons_excluded from outreach.outreach_list "
                        "where as_of_date = ?", [day]).fetchall()
    return {(c, k): (s, r) for c, k, s, r in rows}


def contacts(conn) -> list[tuple]:
    return conn.execute("select as_of_date, customer_id, campaign, held_out from outreach.contact_history "
                        "order by as_of_date, customer_id").fetchall()


def export_rows(tmp_path, day, campaign) -> list[dict]:
    with open(tmp_path / "exports" / day.isoformat() / f"{campaign}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# --- the playbook ------------------------------------------------------------------------------


def test_the_built_in_playbook_covers_every_stage_and_warning_tier():
    book = load_playbook()
    targets = [c.target for c in book.active_campaigns]
    covered = {s for t in targets for s in (t.stages or []) + (t.entered or [])}
    assert covered == set(STAGES)
    assert {tier for t in targets for tier in t.warning_tiers or []} == {1, 2, 3}
    assert [c.priority for c in book.active_campaigns] == sorted({c.priority for c in book.campaigns})
    assert {c.channel for c in book.active_campaigns} == {"email", "sms", "call_task"}
    assert book.frequency_cap.max_contacts == 1 and book.frequency_cap.days == 7


@pytest.mark.parametrize(("text", "expected"), [
    ("version: v1\ncampaigns:\n  - {id: recall, target: {stages: [dormnt]}, channel: email, template: x, priority: 1}",
     "campaigns[recall].target.stages[0]: Input should be 'prospect', 'new'"),
    ("version: v1\ncampaigns:\n  - {id: aa, target: {stages: [new]}, channel: email, template: x, priority: 1}\n"
     "  - {id: bb, target: {stages: [new]}, channel: email, template: x, priority: 1}",
     "campaigns aa and bb have the same priority 1"),
    ("version: v1\ncampaigns:\n  - {id: aa, target: {stages: [new]}, channel: email, template: x, priority: 1, "
     "holdout_share: 1.5}", "campaigns[aa].holdout_share: Input should be less than 1 (got 1.5)"),
    ("version: v1\ncampaigns:\n  - {id: aa, target: {stages: [new]}, channel: fax, template: x, priority: 1}",
     "campaigns[aa].channel: Input should be 'email', 'sms' or 'call_task' (got 'fax')"),
    ("version: v1\ncampaigns:\n  - {id: aa, target: {stages: [new]}, channel: email, template: x, priority: 1, "
     "cooldown: 3}", "campaigns[aa].cooldown: Extra inputs are not permitted"),
    ("version: v1\ncampaigns:\n  - {id: aa, target: {}, channel: email, template: x, priority: 1}",
     "campaigns[aa].target: a target needs at least one of stages, entered"),
    ("version: v1\ncampaigns:\n  - {id: aa, target: {entered_from: [new]}, channel: email, template: x, priority: 1}",
     "entered_from needs entered"),
    ("campaigns: []", "version: Field required"),
    ("version: v1\ncampaigns: [", "is not valid YAML"),
    ("version: v1\nfrequency_cap: {max_contacts: 0}\ncampaigns:\n"
     "  - {id: aa, target: {warning_tiers: [4]}, channel: email, template: x, priority: 1}",
     "frequency_cap.max_contacts: Input should be greater than or equal to 1"),
])
def test_an_invalid_playbook_names_the_campaign_and_field(text, expected):
    with pytest.raises(PlaybookError) as error:
        parse_playbook(text, "my_playbook.yaml")
    assert expected in str(error.value)
    assert str(error.value).startswith("my_playbook.yaml")


def test_every_problem_of_a_playbook_is_reported_at_once():
    text = ("version: v1\ncampaigns:\n"
            "  - {id: aa, target: {warning_tiers: [4]}, channel: email, template: x, priority: 0}\n"
            "  - {id: bb, target: {stages: [new]}, channel: email, template: x, priority: 1, offer: {code: lower}}")
    with pytest.raises(PlaybookError) as error:
        parse_playbook(text)
    message = str(error.value)
    for part in ("campaigns[aa].target.warning_tiers[0]", "campaigns[aa].priority", "campaigns[bb].offer.code",
                 "campaigns[bb].offer.description: Field required"):
        assert part in message


def write_template(root: Path, name: str, parts: dict[str, str]) -> Path:
    for part, text in parts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / part).write_text(text, encoding="utf-8")
    return root


def test_a_template_using_an_unknown_variable_fails_the_playbook_check_with_template_line_and_variable(tmp_path):
    templates = write_template(tmp_path / "templates", "hello", {"body.txt.j2": "Hi\n\n{{ first_nam }}, welcome\n"})
    (tmp_path / "playbook.yaml").write_text(
        "version: v1\ncampaigns:\n  - {id: hello, target: {stages: [new]}, channel: sms, template: hello, priority: 1}\n"
        "  - {id: missing, target: {stages: [new]}, channel: email, template: nothing, priority: 2}\n")
    with pytest.raises(TemplateProblem) as error:
        load_playbook(tmp_path / "playbook.yaml")
    assert "template hello/body.txt.j2, line 3: 'first_nam' is undefined" in str(error.value)
    assert "campaign missing: template nothing/subject.j2 does not exist" in str(error.value)
    assert templates == tmp_path / "templates"


# --- guards --------------------------------------------------------------------------------------


def test_consent_and_suppression_always_win(conn, tmp_path):
    dormant(conn, "OK")
    dormant(conn, "SMS_ONLY", email_opt_in=False, sms_opt_in=True, phone="+15550000001")
    dormant(conn, "NULL_CONSENT", email_opt_in=None, sms_opt_in=True)  # consent but no phone for the SMS
    dormant(conn, "BY_ID", sms_opt_in=True, phone="+15550000002")
    dormant(conn, "BY_EMAIL", email="Mixed.Case@Example.com")
    dormant(conn, "WITHDRAWN")
    add_customer(conn, "WITHDRAWN", signup="2025-01-01T00:00:00Z", updated_at=at(day_(-3)), first_name="W",
                 email="withdrawn@example.com", email_opt_in=False)
    dormant(conn, "LATER")  # suppressed the day after D
    add_suppression(conn, at(day_(-50)), customer_id="BY_ID", reason="complaint")
    add_suppression(conn, at(day_(-1)), email="  mixed.case@EXAMPLE.com", reason="bounce")
    add_suppression(conn, at(day_(1)), customer_id="LATER")

    run_day(conn, tmp_path, playbook(RECALL))
    got = decisions(conn)
    assert got[("OK", "recall_email")] == ("contacted", [])
    assert got[("SMS_ONLY", "recall_email")] == ("excluded", ["no_consent"])
    assert got[("SMS_ONLY", "recall_sms")] == ("contacted", [])  # the next campaign whose channel has consent
    assert got[("NULL_CONSENT", "recall_email")] == ("excluded", ["no_consent"])
    assert got[("NULL_CONSENT", "recall_sms")] == ("excluded", ["no_address"])
    assert got[("BY_ID", "recall_email")] == ("excluded", ["suppressed"])
    assert got[("BY_ID", "recall_sms")] == ("excluded", ["suppressed"])
    assert got[("BY_EMAIL", "recall_email")] == ("excluded", ["suppressed"])
    assert got[("WITHDRAWN", "recall_email")] == ("excluded", ["no_consent"])
    assert got[("LATER", "recall_email")] == ("contacted", [])  # not yet suppressed at the end of D
    assert [r["customer_id"] for r in export_rows(tmp_path, D, "recall_email")] == ["LATER", "OK"]
    assert [r["customer_id"] for r in export_rows(tmp_path, D, "recall_sms")] == ["SMS_ONLY"]
    # the documented BI query (docs/data_dictionary.md) answers "why were they left out?"
    assert conn.execute(list(EXAMPLE_QUERIES.values())[3]).fetchall() == [
        ("recall_email", 2, 0, 2, 3, 0, 0),  # contacted OK, LATER; suppressed BY_ID, BY_EMAIL; no consent x3
        ("recall_sms", 1, 0, 2, 4, 0, 0),  # SMS_ONLY; BY_ID, BY_EMAIL; no SMS consent: OK, BY_EMAIL, WITHDRAWN, LATER
    ]

    run_day(conn, tmp_path, playbook(RECALL.replace("cooldown_days: 30", "cooldown_days: 0")), day=day_(8))
    assert decisions(conn, day_(8))[("LATER", "recall_email")] == ("excluded", ["suppressed"])


def test_the_independent_guard_recheck_catches_a_row_the_guards_should_have_excluded(conn, tmp_path):
    from lifecycle_pipeline.daily_tables import end_of_day
    from lifecycle_pipeline.outreach.lists import GuardViolation, verify_guards

    dormant(conn, "OK")
    dormant(conn, "SMS_ONLY", email_opt_in=False, sms_opt_in=True, phone="+15550000001")
    dormant(conn, "GONE")
    add_suppression(conn, at(day_(-1)), email="gone@example.com")
    run_day(conn, tmp_path, playbook(RECALL))
    params = {"as_of": D, "as_of_end": end_of_day(D, "UTC"), "cap_days": 7, "cap_max_contacts": 1}
    assert verify_guards(conn, params) == {"without_consent": 0, "suppressed": 0, "over_frequency_cap": 0,
                                           "in_cooldown": 0, "second_campaign_same_day": 0}
    # simulate a bug in the guards: the re-check refuses the day
    conn.execute("update outreach_day set status = 'contacted' "
                 "where customer_id in ('SMS_ONLY', 'GONE') and campaign = 'recall_email'")
    with pytest.raises(GuardViolation) as error:
        verify_guards(conn, params)
    assert "'without_consent': 1, 'suppressed': 1" in str(error.value)
    assert "'second_campaign_same_day': 1" in str(error.value)  # SMS_ONLY now has the email and the SMS
    assert error.value.samples == {"without_consent": ["SMS_ONLY"], "suppressed": ["GONE"],
                                   "second_campaign_same_day": ["SMS_ONLY"]}
    run_day(conn, tmp_path, playbook(RECALL), day=day_(3))  # OK was contacted on D: the cap applies
    conn.execute("update outreach_day set status = 'contacted' where customer_id = 'OK'")
    with pytest.raises(GuardViolation, match="'over_frequency_cap': 2, 'in_cooldown': 1"):
        verify_guards(conn, {**params, "as_of": day_(3), "as_of_end": end_of_day(day_(3), "UTC")})


def test_the_frequency_cap_and_the_cooldown_hold_across_consecutive_days(conn, tmp_path):
    dormant(conn, "C")
    book = playbook("""
  - {id: aa, target: {stages: [dormant]}, channel: email, template: dormant_recall, priority: 1, cooldown_days: 10,
     holdout_share: 0}
  - {id: bb, target: {stages: [dormant]}, channel: email, template: big_promotion, priority: 2, cooldown_days: 0,
     holdout_share: 0}
""")
    for offset in range(15):
        run_day(conn, tmp_path, book, day=day_(offset))
    assert [(d, k) for d, _c, k, _h in contacts(conn)] == [(day_(0), "aa"), (day_(7), "bb"), (day_(14), "aa")]
    assert decisions(conn, day_(1)) == {("C", "aa"): ("excluded", ["frequency_cap", "cooldown"]),
                                        ("C", "bb"): ("excluded", ["frequency_cap"])}
    assert decisions(conn, day_(6))[("C", "bb")] == ("excluded", ["frequency_cap"])
    # day 7: the 7-day cap has passed, aa is still cooling down (10 days), so bb wins
    assert decisions(conn, day_(7)) == {("C", "aa"): ("excluded", ["cooldown"]), ("C", "bb"): ("contacted", [])}
    assert decisions(conn, day_(10))[("C", "aa")] == ("excluded", ["frequency_cap"])  # cooldown over, cap not
    assert decisions(conn, day_(14))[("C", "aa")] == ("contacted", [])


def test_a_cap_of_two_contacts_in_three_days(conn, tmp_path):
    dormant(conn, "C")
    book = playbook("  - {id: aa, target: {stages: [dormant]}, channel: email, template: dormant_recall, priority: 1,"
                    " cooldown_days: 0, holdout_share: 0}", "frequency_cap: {max_contacts: 2, days: 3}")
    for offset in range(6):
        run_day(conn, tmp_path, book, day=day_(offset))
    assert [d for d, *_ in contacts(conn)] == [day_(0), day_(1), day_(3), day_(4)]


def test_priorities_pick_one_campaign_per_customer_and_day(conn, tmp_path):
    dormant(conn, "C")
    dormant(conn, "D2")
    # listed out of priority order: the number decides, not the position
    book = playbook("""
  - {id: third, target: {stages: [dormant]}, channel: email, template: big_promotion, priority: 30, holdout_share: 0}
  - {id: first, target: {stages: [dormant], rfm_segments: [hibernating, about_to_sleep, at_risk, need_attention,
     promising, new_customers, potential_loyalists, cant_lose, champions, loyal_customers]}, channel: email,
     template: dormant_recall, priority: 10, holdout_share: 0}
  - {id: second, target: {stages: [dormant]}, channel: email, template: we_miss_you, priority: 20, holdout_share: 0}
""")
    run_day(conn, tmp_path, book)
    got = decisions(conn)
    assert got[("C", "first")] == ("contacted", [])
    assert got[("C", "second")] == ("excluded", ["lower_priority"])
    assert got[("C", "third")] == ("excluded", ["lower_priority"])
    assert conn.execute("select count(*), count(distinct customer_id) from outreach.contact_history").fetchall() \
        == [(2, 2)]
    reason = conn.execute("select reason_selected from outreach.outreach_list where customer_id = 'C' "
                          "and status = 'contacted'").fetchall()[0][0]
    assert reason.startswith("stage dormant; RFM segment ") and reason.endswith("priority 10, first of 3 eligible "
                                                                                "campaigns")


def test_a_daily_limit_keeps_the_most_valuable_customers_and_the_rest_wait(conn, tmp_path):
    for cid, amount in (("LOW", 10), ("TOP", 500), ("MID", 100), ("TIE_A", 50), ("TIE_B", 50)):
        dormant(conn, cid, sms_opt_in=True, phone="+15550001111")
        add_order(conn, f"{cid}-0", cid, at(day_(-101)), amount=amount)
    book = playbook("""
  - {id: calls, target: {stages: [dormant]}, channel: call_task, template: callback_task, priority: 1,
     cooldown_days: 30, holdout_share: 0, daily_limit: 2}
""")
    run_day(conn, tmp_path, book)
    got = decisions(conn)
    assert {c for (c, _k), (status, _r) in got.items() if status == "contacted"} == {"TOP", "MID"}
    assert got[("TIE_A", "calls")] == got[("TIE_B", "calls")] == got[("LOW", "calls")] == ("excluded", ["daily_limit"])
    run_day(conn, tmp_path, book, day=day_(1))  # the next day the next two by revenue (ties by id), not the same
    assert {c for (c, _k), (status, _r) in decisions(conn, day_(1)).items() if status == "contacted"} \
        == {"TIE_A", "TIE_B"}
    assert decisions(conn, day_(1))[("TOP", "calls")] == ("excluded", ["frequency_cap", "cooldown"])


def test_entered_targets_only_the_day_of_the_move(conn, tmp_path):
    dormant(conn, "C")  # at_risk until D-10 (r = 90 on D-10), dormant from D-9
    add_customer(conn, "NEWBIE", signup=at(D, "09:00:00"), first_name="N", email="n@example.com", email_opt_in=True)
    book = playbook("""
  - {id: sleepy, target: {entered: [dormant], entered_from: [at_risk]}, channel: email, template: dormant_recall,
     priority: 1, holdout_share: 0}
  - {id: hello, target: {entered: [prospect]}, channel: email, template: prospect_welcome, priority: 2,
     holdout_share: 0}
""")
    for offset in (-11, -10, -9, -8):
        run_day(conn, tmp_path, book, day=day_(offset))
    assert [(d, c, k) for d, c, k, _h in contacts(conn)] == [(day_(-9), "C", "sleepy")]
    run_day(conn, tmp_path, book)  # NEWBIE signed up on D
    assert [(c, k) for d, c, k, _h in contacts(conn) if d == D] == [("NEWBIE", "hello")]


def test_model_targets_pick_dormant_customers_by_p_alive_and_expected_value(conn, tmp_path):
    """p_alive_below / p_alive_above / expected_value_above read the day's predictions (issue 15); a customer
    without a prediction (a prospect) never matches them."""
    from lifecycle_pipeline import clv, clv_models
    from lifecycle_pipeline.clv import ClvSettings

    dormant(conn, "A")  # one order 100 days ago
    dormant(conn, "B")
    add_order(conn, "B-0", "B", at(day_(-300)))  # and one 300 days ago
    dormant(conn, "C")
    for k, offset in enumerate(range(-400, -100, 7)):  # weekly for 300 days, then silence: C is gone
        add_order(conn, f"C-{k}", "C", at(day_(offset)))
    add_customer(conn, "P", signup="2026-06-01T00:00:00Z", email="p@example.com", email_opt_in=True)
    fit = stored_fit(conn, clv.fit_date(D, 7))
    book = playbook("""
  - {id: likely_back, target: {stages: [dormant], p_alive_above: 0.55}, channel: email, template: we_miss_you,
     priority: 1, holdout_share: 0}
  - {id: long_shot, target: {stages: [dormant], p_alive_below: 0.55, expected_value_above: 1}, channel: email,
     template: dormant_recall, priority: 2, holdout_share: 0}
  - {id: farewell, target: {stages: [dormant], p_alive_below: 0.01}, channel: email, template: we_miss_you,
     priority: 3, holdout_share: 0}
  - {id: model_prospects, target: {stages: [prospect], p_alive_below: 0.99}, channel: email, template: prospect_welcome,
     priority: 4, holdout_share: 0}
""")
    score_days(conn, [D])
    clv.compute_clv_predicted(conn, D, ClvSettings(), 0.3, StageSettings())
    build_stage_days(conn, [D], StageSettings())
    build_outreach_day(conn, D, "UTC", book, Renderer(DEFAULT_TEMPLATES), tmp_path / "exports")
    alive = {cid: float(clv_models.p_alive("mbgnbd", fit.purchase_params(), x, t_x, T)) for cid, x, t_x, T in [
        ("A", 0, 0, 100 / 7), ("B", 1, 200 / 7, 300 / 7), ("C", 42, 294 / 7, 400 / 7)]}
    assert alive["B"] > 0.55 > alive["A"] > 0.01 > alive["C"]  # 0.63, 0.49, 0.0004
    assert decisions(conn) == {("B", "likely_back"): ("contacted", []), ("A", "long_shot"): ("contacted", []),
                               ("C", "farewell"): ("contacted", [])}
    stages = dict(conn.execute("select customer_id, stage from lifecycle.customer_stage_daily").fetchall())
    assert stages == {"A": "dormant", "B": "dormant", "C": "dormant", "P": "prospect"}
    reasons = dict(conn.execute("select campaign, reason_selected from outreach.outreach_list").fetchall())
    shown_b = math.ceil(alive["B"] * 100) / 100  # rounded away from the threshold
    assert reasons["likely_back"].startswith(f"stage dormant; P(alive) {shown_b:.2f} above 0.55; priority 1")
    value = conn.execute("select expected_value_12m from scoring.customer_clv_predicted where customer_id = 'A'"
                         ).fetchall()[0][0]
    assert value > 1 and f"expected value {value:.2f} above 1" in reasons["long_shot"]


@pytest.mark.parametrize(("target", "message"), [
    ("{stages: [dormant], p_alive_above: 0.6, p_alive_below: 0.4}", "p_alive_above 0.6 and p_alive_below 0.4 match"),
    ("{p_alive_below: 1.5}", "p_alive_below: Input should be less than or equal to 1"),
    ("{expected_value_above: -3}", "expected_value_above: Input should be greater than or equal to 0"),
])
def test_model_targets_are_validated(target, message):
    with pytest.raises(PlaybookError, match=message):
        playbook(f"  - {{id: aa, target: {target}, channel: email, template: x, priority: 1}}")


def test_holdout_is_stable_and_close_to_its_share_on_10k_customers(conn, tmp_path):
    conn.execute("""
        insert into clean.customers (customer_id, signup_at, first_name, email, email_opt_in,
                                     _partition_date, _source_file, _source_row)
        select 'C' || lpad(i::varchar, 5, '0'), ?::timestamptz, 'Name', 'c' || i || '@example.com', true,
               ?::date, 'f', i
        from range(10000) as t(i)""", [at(D, "06:00:00"), D])
    welcome = ("  - {id: welcome, target: {entered: [prospect]}, channel: email, template: prospect_welcome, "
               "priority: 1, holdout_share: 0.2}")
    run_day(conn, tmp_path, playbook(welcome))
    held = {c for _d, c, _k, h in contacts(conn) if h}
    assert 2000 - 4 * 40 <= len(held) <= 2000 + 4 * 40  # share 0.2 of 10k: sd = sqrt(10k * 0.2 * 0.8) = 40
    exported = {r["customer_id"] for r in export_rows(tmp_path, D, "welcome")}
    assert len(exported) == 10_000 - len(held) and not exported & held  # recorded, never exported
    statuses = conn.execute("select status, count(*) from outreach.outreach_list group by 1 order by 1").fetchall()
    assert statuses == [("contacted", 10_000 - len(held)), ("holdout", len(held))]

    run_day(conn, tmp_path, playbook(welcome))  # re-run: the same customers held out
    assert {c for _d, c, _k, h in contacts(conn) if h} == held
    # another day, another target, the same campaign id: the same customers are in the holdout
    standing = welcome.replace("entered: [prospect]", "stages: [prospect]")
    run_day(conn, tmp_path, playbook(standing, "frequency_cap: {max_contacts: 1, days: 1}"), day=day_(1))
    assert conn.execute("select count(*) from outreach.contact_history where as_of_date = ?", [day_(1)]).fetchall() \
        == [(0,)]  # cooldown 30 days: nobody again the next day
    other = playbook(standing.replace("id: welcome", "id: other"), "frequency_cap: {max_contacts: 1, days: 1}")
    run_day(conn, tmp_path, other, day=day_(1))
    held_other = {c for d, c, _k, h in contacts(conn) if h and d == day_(1)}
    assert 2000 - 160 <= len(held_other) <= 2000 + 160
    assert len(held & held_other) < 600  # independent per campaign (expected 0.2 * 0.2 * 10k = 400)


# --- templates -----------------------------------------------------------------------------------


def test_html_bodies_escape_customer_text_and_text_bodies_keep_it(conn, tmp_path):
    dormant(conn, "X", first_name="<script>alert('x')</script>")
    run_day(conn, tmp_path, playbook(RECALL))
    subject, text, html = conn.execute(
        "select subject, body_text, body_html from outreach.outreach_list where status = 'contacted'").fetchall()[0]
    assert "<script>" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert text.startswith("Hi <script>alert('x')</script>,")  # a text body is not HTML
    assert subject == "<script>alert('x')</script>, come back for 15% off"
    assert "&lt;script&gt;" in export_rows(tmp_path, D, "recall_email")[0]["body_html"]


@pytest.mark.parametrize("expression", [
    "first_name.__class__.__mro__[1].__subclasses__()",
    "cycler.__init__.__globals__.os.popen('id').read()",
    "stage.__class__.__base__.__subclasses__()",
])
def test_the_sandbox_blocks_python_internals(conn, tmp_path, expression):
    templates = write_template(tmp_path / "templates", "evil", {"body.txt.j2": "Hello\n{{ " + expression + " }}\n"})
    dormant(conn, "C", sms_opt_in=True, phone="+15550000003")
    book = playbook("  - {id: evil, target: {stages: [dormant]}, channel: sms, template: evil, priority: 1}")
    Renderer(templates).check(book)  # the names are known: only running the template reveals the attempt
    with pytest.raises(TemplateProblem) as error:
        run_day(conn, tmp_path, book, templates=templates)
    assert "template evil/body.txt.j2, line 2: blocked by the sandbox" in str(error.value)
    assert "is unsafe" in str(error.value)
    assert not (tmp_path / "exports" / D.isoformat()).exists()


def test_an_undefined_value_while_rendering_fails_the_day_naming_template_line_and_variable(conn, tmp_path):
    templates = write_template(tmp_path / "templates", "greet", {
        "subject.j2": "Hello {{ first_name }}\n",
        "body.txt.j2": "Dear {{ first_name }},\n\n{{ favourite_category.best_seller }} is back.\n",
        "body.html.j2": "<p>{{ first_name }}</p>\n",
    })
    dormant(conn, "C")
    good = playbook("  - {id: greet, target: {stages: [dormant]}, channel: email, template: dormant_recall, "
                    "priority: 1, cooldown_days: 0}")
    run_day(conn, tmp_path, good)  # an earlier successful run of the day
    before = {p.name: p.read_bytes() for p in (tmp_path / "exports" / D.isoformat()).iterdir()}
    rows_before = conn.execute("select * from outreach.outreach_list order by all").fetchall()

    bad = playbook("  - {id: greet, target: {stages: [dormant]}, channel: email, template: greet, priority: 1, "
                   "cooldown_days: 0}")
    with pytest.raises(TemplateProblem) as error:
        run_day(conn, tmp_path, bad, templates=templates)
    assert str(error.value) == ("template greet/body.txt.j2, line 3: 'str object' has no attribute 'best_seller' "
                                "(campaign greet, customer C)")
    # nothing of the failed run was written: the earlier export and rows are untouched, no temp folders
    assert {p.name: p.read_bytes() for p in (tmp_path / "exports" / D.isoformat()).iterdir()} == before
    assert conn.execute("select * from outreach.outreach_list order by all").fetchall() == rows_before
    assert [p.name for p in (tmp_path / "exports").iterdir()] == [D.isoformat()]


# --- exports -------------------------------------------------------------------------------------


def test_rerunning_a_day_gives_byte_identical_exports(conn, tmp_path):
    for i in range(30):
        dormant(conn, f"C{i:02d}", sms_opt_in=i % 3 == 0, phone=f"+1555000{i:04d}", email_opt_in=i % 2 == 0,
                last_name="O'Brien, \"Jr\"")
    book = playbook(RECALL.replace("holdout_share: 0", "holdout_share: 0.3"))
    run_day(conn, tmp_path, book)
    folder = tmp_path / "exports" / D.isoformat()
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    rows = conn.execute("select * from outreach.outreach_list order by all").fetchall()
    run_day(conn, tmp_path, book)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first
    assert conn.execute("select * from outreach.outreach_list order by all").fetchall() == rows
    manifest = json.loads(first["manifest.json"])
    assert sorted(first) == ["manifest.json", "recall_email.csv", "recall_sms.csv"]
    contacted = dict(conn.execute("select campaign, count(*) from outreach.outreach_list "
                                  "where status = 'contacted' group by 1").fetchall())
    assert {f["campaign"]: f["rows"] for f in manifest["files"]} == contacted
    assert sum(contacted.values()) > 0
    # the CSV round-trips values with quotes and commas
    assert {r["last_name"] for r in export_rows(tmp_path, D, "recall_email")} == {"O'Brien, \"Jr\""}

    # a re-run without the SMS campaign replaces the whole folder: its old file is gone, no temp folders stay
    run_day(conn, tmp_path, playbook(RECALL.split("  - {id: recall_sms")[0]))
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "recall_email.csv"]
    assert [p.name for p in (tmp_path / "exports").iterdir()] == [D.isoformat()]


# --- uplift --------------------------------------------------------------------------------------


def test_uplift_compares_what_contacted_and_held_out_customers_did_within_the_window(conn, tmp_path):
    for i in range(40):
        dormant(conn, f"C{i:02d}")
    book = playbook("  - {id: recall, target: {stages: [dormant]}, channel: email, template: dormant_recall, "
                    "priority: 1, holdout_share: 0.5}", "uplift: {window_days: 7, cohort_days: 7}")
    run_day(conn, tmp_path, book)
    groups = {c: h for _d, c, _k, h in contacts(conn)}
    contacted = sorted(c for c, h in groups.items() if not h)
    held = sorted(c for c, h in groups.items() if h)
    assert contacted and held and len(groups) == 40
    # contacted: all but one order 3 days later (the last one orders on day 8: outside the 7-day window);
    # held out: one orders 2 days later
    for c in contacted[:-1]:
        add_order(conn, f"{c}-2", c, at(day_(3)))
    add_order(conn, f"{contacted[-1]}-2", contacted[-1], at(day_(8)))
    add_order(conn, f"{held[0]}-2", held[0], at(day_(2)))

    score_days(conn, [day_(6)])
    build_stage_days(conn, [day_(6)], StageSettings())
    assert compute_uplift(conn, day_(6), book) == 0  # the window of D has not ended on day 6
    score_days(conn, [day_(7)])
    build_stage_days(conn, [day_(7)], StageSettings())
    assert compute_uplift(conn, day_(7), book) == 1
    row = conn.execute("select * from outreach.campaign_uplift where as_of_date = ?", [day_(7)]).fetchall()[0]
    names = [d[0] for d in conn.description]
    got = dict(zip(names, row))
    nc, nh = len(contacted), len(held)
    assert (got["cohort_from"], got["cohort_to"], got["window_days"]) == (day_(-6), D, 7)  # 7 contact days
    assert (got["contacted"], got["held_out"], got["contacted_converted"], got["held_out_converted"]) \
        == (nc, nh, nc - 1, 1)
    # an order after 100 days away makes a dormant customer reactivated: a stage improvement
    assert (got["contacted_improved"], got["held_out_improved"]) == (nc - 1, 1)
    pc, ph, pooled = (nc - 1) / nc, 1 / nh, nc / (nc + nh)
    assert got["conversion_uplift"] == pytest.approx(pc - ph)
    assert got["conversion_z"] == pytest.approx((pc - ph) / math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nh)))
    assert got["improvement_uplift"] == pytest.approx(pc - ph)


# --- through Dagster, on the sample data -----------------------------------------------------------


def test_outreach_assets_on_sample_data_respect_the_guards_and_rerun_identically(tmp_path):
    import dagster as dg

    from lifecycle_pipeline.resources import OutreachConfig
    from tests.helpers import materialize, materialize_sample_range, query

    # every day exported (these days are older than the default export window)
    settings, defs, _keys, result = materialize_sample_range(tmp_path, "2026-02-01", "2026-02-21", seed=11,
                                                             export_window_days=None)
    assert result.success
    exports_root = settings.outreach_export_dir
    assert sorted(p.name for p in exports_root.iterdir()) == [f"2026-02-{d:02d}" for d in range(1, 22)]

    contacted_per_day = dict(query(settings, "select as_of_date::varchar, count(*) from outreach.outreach_list "
                                             "where status = 'contacted' group by 1"))
    for folder in exports_root.iterdir():
        manifest = json.loads((folder / "manifest.json").read_text())
        assert sum(f["rows"] for f in manifest["files"]) == contacted_per_day.get(folder.name, 0)
    assert sum(contacted_per_day.values()) > 500 and query(
        settings, "select count(*) from outreach.outreach_list where status = 'holdout'")[0][0] > 0

    # the guards, checked independently on the real data: consent in the latest customer record of the day,
    # no suppression known by then, one campaign per customer per day, at most one contact in any 7 days
    violations = query(settings, """
        with latest as (
            select l.as_of_date, l.customer_id, l.channel, c.email_opt_in, c.sms_opt_in, c.email
            from outreach.outreach_list l
            join clean.customers c on c.customer_id = l.customer_id and c._partition_date <= l.as_of_date
            where l.status = 'contacted'
            qualify row_number() over (partition by l.as_of_date, l.customer_id
                                       order by c._partition_date desc, coalesce(c.updated_at, c.signup_at) desc) = 1
        )
        select
            count(*) filter (where channel = 'email' and not coalesce(email_opt_in, false)
                             or channel <> 'email' and not coalesce(sms_opt_in, false)),
            count(*) filter (where exists (
                select 1 from clean.suppressions s
                where s.suppressed_at < l.as_of_date + 1
                  and (s.customer_id = l.customer_id or lower(trim(s.email)) = lower(trim(l.email)))))
        from latest l""")
    assert violations == [(0, 0)]
    assert query(settings, """
        select count(*) from outreach.contact_history a join outreach.contact_history b
          on a.customer_id = b.customer_id and b.as_of_date > a.as_of_date and b.as_of_date < a.as_of_date + 7""") \
        == [(0,)]
    assert query(settings, "select count(*) from (select as_of_date, customer_id from outreach.contact_history "
                           "group by all having count(*) > 1)") == [(0,)]
    assert query(settings, "select count(distinct as_of_date) from outreach.campaign_uplift") == [(7,)]  # days 15-21

    meta = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("outreach_lists")}
    listed = meta["outreach/outreach_list"]
    assert listed["contacted"].value == contacted_per_day["2026-02-21"]
    assert "| campaign | matched | contacted | holdout | excluded | suppressed |" in listed["campaigns"].value
    assert "**Subject:**" in listed["rendered_sample"].value
    assert meta["outreach/campaign_exports"]["rows_exported"].value == contacted_per_day["2026-02-21"]
    # one evaluation per day, each attached to its partition (not one range result that leaves the days "Skipped")
    checks = [e for e in result.get_asset_check_evaluations() if e.check_name == "guards_hold"]
    assert [e.partition for e in checks] == [f"2026-02-{d:02d}" for d in range(1, 22)]
    assert all(e.passed and e.target_materialization_data is not None for e in checks)
    assert sum(e.metadata["selected_rows_checked"].value for e in checks) > 500
    assert all(e.metadata["violations_without_consent"].value == 0 for e in checks)

    # re-running a day gives byte-identical exports
    day_folder = exports_root / "2026-02-10"
    before = {p.name: p.read_bytes() for p in day_folder.iterdir()}
    assert materialize(defs, ["outreach/outreach_list"], partition_key="2026-02-10").success
    assert {p.name: p.read_bytes() for p in day_folder.iterdir()} == before

    # a template error fails the asset with the template, line and variable, and exports nothing
    broken = tmp_path / "broken_templates"
    shutil.copytree(DEFAULT_TEMPLATES, broken)
    (broken / "dormant_recall" / "body.txt.j2").write_text("Hi {{ first_name }}\n{{ frist_name }}\n")
    selection = [a for a in defs.assets if "outreach_lists" == getattr(a, "node_def", None).name]
    resources = {**{k: defs.resources[k] for k in ("duckdb", "landing", "quality", "scoring", "stages")},
                 "outreach": OutreachConfig(templates_dir=str(broken), export_dir=str(exports_root))}
    failed = dg.materialize(selection, partition_key="2026-02-10", resources=resources, raise_on_error=False)
    assert not failed.success
    message = next(e for e in failed.all_events if e.is_step_failure).step_failure_data.error.to_string()
    assert "template dormant_recall/body.txt.j2, line 2: 'frist_name' is undefined" in message
    assert {p.name: p.read_bytes() for p in day_folder.iterdir()} == before


# --- spreadsheets, runaway templates and the export window ---------------------------------------


def test_a_spreadsheet_formula_in_customer_text_is_neutralised_in_the_export(conn, tmp_path):
    formula = '=HYPERLINK("http://evil.example","click")'
    dormant(conn, "C", first_name=formula, last_name="@SUM(A1:A9)", sms_opt_in=True, phone="+15550000003")
    dormant(conn, "D", last_name="-2+3+cmd|' /C calc'!A0")
    run_day(conn, tmp_path, playbook(RECALL))
    rows = {r["customer_id"]: r for r in export_rows(tmp_path, D, "recall_email")}
    assert rows["C"]["first_name"] == "'" + formula
    assert rows["C"]["last_name"] == "'@SUM(A1:A9)"
    assert rows["D"]["last_name"] == "'-2+3+cmd|' /C calc'!A0"
    assert rows["D"]["first_name"] == "D"  # plain text is untouched
    # the database keeps what the customer typed; only the spreadsheet-bound file is neutralised
    (text,) = conn.execute("select body_text from outreach.outreach_list where customer_id = 'C' "
                           "and status = 'contacted'").fetchall()[0]
    assert formula in text


def test_a_phone_number_or_a_negative_amount_is_not_mistaken_for_a_formula():
    memory = duckdb.connect()
    memory.execute(sql.load("outreach/export_cell"))

    def cell(value):
        return memory.execute("select export_cell(?)", [value]).fetchone()[0]

    for safe in ("+15550000003", "+44 20 7946 0958", "-12.50", "+1 (555) 010-0100", "+1555\n", "Ada", "a=b"):
        assert cell(safe) == safe
    for formula in ("=1+1", "@cmd", "+cmd|x", "-1+cmd", "\t=1", "\r=1", "+1\n=cmd"):
        assert cell(formula) == "'" + formula
    assert cell("") is None and cell(None) is None  # an empty cell, written without quotes
    assert memory.execute("select export_cell(date '2026-03-01')").fetchone()[0] == "2026-03-01"


@pytest.mark.parametrize(("body", "message"), [
    ("Hi\n{{ 'x' * 100000000 }}\n", "template huge/body.txt.j2, line 2: blocked by the sandbox: a repetition of "
                                     "100000000 items exceeds the limit of 100000"),
    ("Hi\n{{ 10 ** 100000 }}\n", "template huge/body.txt.j2, line 2: blocked by the sandbox: an exponent of 100000 "
                                 "exceeds the limit of 64"),
    ("{% for i in range(99999) %}{{ first_name }}{% endfor %}\n",
     "template huge/body.txt.j2: renders 199998 characters, more than the limit of 100000"),
])
def test_a_template_that_renders_a_runaway_message_fails_naming_the_template(conn, tmp_path, body, message):
    templates = write_template(tmp_path / "templates", "huge", {"body.txt.j2": body})
    dormant(conn, "C", first_name="Zo", sms_opt_in=True, phone="+15550000003")
    book = playbook("  - {id: huge, target: {stages: [dormant]}, channel: sms, template: huge, priority: 1}")
    with pytest.raises(TemplateProblem) as error:
        run_day(conn, tmp_path, book, templates=templates)
    assert message in str(error.value)
    assert not (tmp_path / "exports" / D.isoformat()).exists()


def test_days_outside_the_export_window_compute_lists_and_history_but_write_no_files(conn, tmp_path):
    from lifecycle_pipeline.resources import OutreachConfig

    dormant(conn, "C")
    score_days(conn, [D])
    build_stage_days(conn, [D], StageSettings())
    day = build_outreach_day(conn, D, "UTC", playbook(RECALL), Renderer(DEFAULT_TEMPLATES), tmp_path / "exports",
                             export=False)
    assert day.export_dir is None and day.count("contacted") == 1
    assert not (tmp_path / "exports").exists()
    assert conn.execute("select status, export_file from outreach.outreach_list where campaign = 'recall_email'"
                        ).fetchall() == [("contacted", None)]
    assert contacts(conn) == [(D, "C", "recall_email", False)]  # the cap and cooldowns of later days still see it
    config = OutreachConfig(export_dir=str(tmp_path / "exports"), export_window_days=14)
    now = dt.datetime(2026, 11, 26, 2, tzinfo=dt.timezone.utc)
    assert config.writes_exports(dt.date(2026, 11, 12), "UTC", now)
    assert not config.writes_exports(dt.date(2026, 11, 11), "UTC", now)
    assert not config.writes_exports(dt.date(1997, 5, 1), "UTC", now)  # nobody sends messages to the past
    assert OutreachConfig(export_dir="x", export_window_days=None).writes_exports(dt.date(1997, 5, 1), "UTC", now)


def test_a_big_export_file_keeps_its_rows_in_the_order_they_were_rendered(tmp_path):
    """DuckDB writes the file from several threads; the rows stay in the order given (no sort needed)."""
    from lifecycle_pipeline.outreach import exports

    memory = duckdb.connect()
    n = 300_000
    rows = memory.sql(  # ids in an order no sort would produce
        "select " + ", ".join(f"'x' as {c}" for c in exports.EXPORT_COLUMNS if c != "customer_id")
        + f", 'C' || ((i * 7919) % {n}) as customer_id from range({n}) t(i) order by i").to_arrow_table()
    entry = exports.write_campaign(memory, tmp_path, "big", rows)
    with open(tmp_path / "big.csv", newline="", encoding="utf-8") as f:
        written = [r["customer_id"] for r in csv.DictReader(f)]
    assert entry["rows"] == n and written == rows["customer_id"].to_pylist()


def test_a_day_folder_left_aside_by_a_killed_swap_is_put_back_before_the_next_run(tmp_path):
    """kill -9 between publish_day's two renames leaves no day folder and the old set in .DAY.old-*."""
    from lifecycle_pipeline.outreach import exports

    root = tmp_path / "exports"
    memory = duckdb.connect()
    rows = memory.sql("select " + ", ".join(f"'C' as {c}" for c in exports.EXPORT_COLUMNS)).to_arrow_table()
    staging = exports.start_day(root, D)
    exports.write_manifest(staging, D, [exports.write_campaign(memory, staging, "C", rows)], "v1")
    exports.publish_day(staging, root, D)
    assert (root / D.isoformat() / "C.csv").read_text().splitlines()[1] == ",".join("C" * len(exports.EXPORT_COLUMNS))
    before = {p.name: p.read_bytes() for p in (root / D.isoformat()).iterdir()}
    (root / D.isoformat()).rename(root / f".{D.isoformat()}.old-{'0' * 32}")  # the first rename, then the kill
    (root / f".{D.isoformat()}.tmp-{'1' * 32}").mkdir()  # the staged set that never got swapped in
    exports.remove_leftovers(root, D)
    assert {p.name: p.read_bytes() for p in (root / D.isoformat()).iterdir()} == before
    assert [p.name for p in root.iterdir()] == [D.isoformat()]
