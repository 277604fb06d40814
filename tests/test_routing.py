import re
import tomllib

import pytest

from triage.config import load_config
from triage.errors import ConfigError
from triage.history import chronic_verdict
from triage.routing import DEFAULT_POLICY, Facts, load_policy, parse_policy, route

CONFIG = load_config()
POLICY = load_policy(CONFIG)


def raw_policy() -> dict:
    return tomllib.loads(DEFAULT_POLICY.read_text(encoding="utf-8"))


def facts(cause="delivery", tone="legitimate", signals=(), **kw) -> Facts:
    return Facts(root_cause=cause, tone=tone, signals=frozenset(signals), **kw)


@pytest.mark.parametrize("mutate,message", [
    (lambda p: p["rule"][0]["when"].update(root_cause=["teleport"]), "unknown root causes"),
    (lambda p: p["rule"][0]["when"].update(signals_any=["telepathy"]), "unknown signals"),
    (lambda p: p["rule"][0].update(queue="nowhere"), "not declared"),
    (lambda p: p["rule"][0].update(priority="P9"), "priority"),
    (lambda p: p["rule"][0]["when"].update(weather="rain"), "unknown condition"),
    (lambda p: p["rule"].append(dict(p["rule"][0])), "duplicate rule name"),
    (lambda p: p["rule"].append({**p["rule"][0], "name": "twin", "action": "deescalate"}), "same conditions"),
    (lambda p: p["owners"].pop("refund"), "missing ['refund']"),
    (lambda p: p["rule"][0].pop("reason"), "reason"),
])
def test_policy_validation_names_the_problem(mutate, message):
    raw = raw_policy()
    mutate(raw)
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_policy(raw, CONFIG, "test.toml")


def test_legitimate_goes_to_owner_with_apology():
    r = route(facts("billing"), POLICY)
    assert (r["queue"], r["action"], r["priority"]) == ("finance", "apologize_and_fix", "P3")
    assert r["sla_hours"] == POLICY.sla_hours["P3"]


def test_company_error_with_loss_is_compensated():
    r = route(facts("billing", signals={"amount"}), POLICY)
    assert r["action"] == "apologize_and_compensate" and r["priority"] == "P2"


def test_scandalist_goes_to_deescalation_and_significant_one_to_senior_manager():
    assert route(facts(tone="scandalist"), POLICY)["queue"] == "deescalation"
    r = route(facts(tone="scandalist", significant=True), POLICY)
    assert r["queue"] == "senior_manager" and r["priority"] == "P1" and "churn_risk" in r["flags"]


def test_scandalist_with_concrete_failure_copies_the_owner():
    r = route(facts("delivery", tone="scandalist", signals={"order_number"}), POLICY)
    assert r["queue"] == "deescalation" and "logistics" in r["cc"] and r["priority"] == "P3"


def test_abuse_is_flagged_whatever_the_tone():
    for tone in ("legitimate", "scandalist"):
        assert "abuse" in route(facts(tone=tone, signals={"obscenity"}), POLICY)["flags"]


def test_legal_threat_after_real_failure_is_p1_with_legal_copied():
    r = route(facts(signals={"threat_legal"}), POLICY)
    assert r["priority"] == "P1" and "legal" in r["cc"] and "legal" in r["flags"]


def test_big_client_is_churn_risk_p1():
    r = route(facts(significant=True), POLICY)
    assert r["priority"] == "P1" and "churn_risk" in r["flags"] and r["queue"] == "logistics"


def test_health_and_repeat_contact_raise_priority():
    assert route(facts(signals={"health_safety"}), POLICY)["priority"] == "P1"
    assert route(facts(signals={"repeat_contact"}), POLICY)["priority"] == "P2"


def test_reasons_name_every_fired_rule():
    r = route(facts(signals={"repeat_contact", "obscenity"}), POLICY)
    assert len(r["reasons"]) == 3  # base + repeated_unresolved + abuse


def test_legitimate_repeat_complainer_is_not_chronic():
    assert not chronic_verdict(12, 0.0, POLICY).chronic
    assert chronic_verdict(12, 0.8, POLICY).chronic
    assert not chronic_verdict(1, 1.0, POLICY).chronic
    assert chronic_verdict(1, 1.0, POLICY, rate_ratio=20.0).chronic
