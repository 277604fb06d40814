"""Routing: a classification plus customer facts -> queue, priority, action, SLA, flags, reasons.

The policy is declarative (`policy.toml` beside this module, or `$TRIAGE_POLICY`); this module
only validates it and applies it. Each rule is a named condition with effects; the route
carries the names' reasons so an agent sees why a complaint landed where it did.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable

from triage.config import PACKAGE_DIR, Config
from triage.errors import ConfigError
from triage.signals import SIGNAL_NAMES

DEFAULT_POLICY = PACKAGE_DIR / "policy.toml"
PRIORITIES = ("P1", "P2", "P3", "P4")
ACTIONS = ("apologize_and_fix", "apologize_and_compensate", "deescalate", "review")
WHEN_KEYS = {"tone", "root_cause", "signals_any", "significant", "chronic", "low_confidence"}
EFFECT_KEYS = {"queue", "action", "priority", "flags", "cc", "cc_owner", "reason"}


@dataclass(frozen=True)
class Facts:
    """What the rules may look at."""

    root_cause: str
    tone: str
    signals: frozenset[str]
    significant: bool = False
    chronic: bool = False
    low_confidence: bool = False


@dataclass(frozen=True)
class Rule:
    name: str
    when: dict
    effects: dict

    def holds(self, facts: Facts) -> bool:
        w = self.when
        return (
            ("tone" not in w or facts.tone == w["tone"])
            and ("root_cause" not in w or facts.root_cause in w["root_cause"])
            and ("signals_any" not in w or bool(facts.signals & set(w["signals_any"])))
            and all(getattr(facts, k) == w[k] for k in ("significant", "chronic", "low_confidence") if k in w)
        )


@dataclass(frozen=True)
class Policy:
    owners: dict[str, str]
    queues: frozenset[str]
    base: dict[str, dict]
    sla_hours: dict[str, int]
    rules: tuple[Rule, ...]
    significant_revenue_12m: float
    significant_quantile: float
    chronic_min_complaints_90d: int
    chronic_min_scandalist_share: float
    chronic_rate_ratio: float
    source: str = field(default="")


def _check_effects(effects: dict, queues: frozenset[str], where: str) -> None:
    unknown = set(effects) - EFFECT_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(EFFECT_KEYS)}")
    if not effects.get("reason"):
        raise ConfigError(f"{where}: every rule needs a 'reason' shown to agents")
    if "priority" in effects and effects["priority"] not in PRIORITIES:
        raise ConfigError(f"{where}: priority {effects['priority']!r} is not one of {list(PRIORITIES)}")
    if "action" in effects and effects["action"] not in ACTIONS:
        raise ConfigError(f"{where}: action {effects['action']!r} is not one of {list(ACTIONS)}")
    for q in [effects.get("queue")] + list(effects.get("cc", [])):
        if q is not None and q not in queues:
            raise ConfigError(f"{where}: queue {q!r} is not declared (owners or queues.extra)")


def _check_when(when: dict, config: Config, where: str) -> None:
    unknown = set(when) - WHEN_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown condition {sorted(unknown)}; allowed: {sorted(WHEN_KEYS)}")
    if "tone" in when and when["tone"] not in config.tones:
        raise ConfigError(f"{where}: tone {when['tone']!r} is not one of {list(config.tones)}")
    bad = set(when.get("root_cause", [])) - set(config.root_causes)
    if bad:
        raise ConfigError(f"{where}: unknown root causes {sorted(bad)}")
    bad = set(when.get("signals_any", [])) - set(SIGNAL_NAMES)
    if bad:
        raise ConfigError(f"{where}: unknown signals {sorted(bad)}; known: {list(SIGNAL_NAMES)}")


def parse_policy(raw: dict, config: Config, where: str) -> Policy:
    """Validate a parsed policy table against the config's labels; errors name the rule."""
    owners = raw.get("owners", {})
    if set(owners) != set(config.root_causes):
        raise ConfigError(f"{where}: [owners] must name a queue for exactly the root causes "
                          f"{list(config.root_causes)}; missing {sorted(set(config.root_causes) - set(owners))}, "
                          f"unknown {sorted(set(owners) - set(config.root_causes))}")
    queues = frozenset(owners.values()) | frozenset(raw.get("queues", {}).get("extra", []))
    base = raw.get("base", {})
    for tone in config.tones:
        if tone not in base:
            raise ConfigError(f"{where}: [base.{tone}] is missing")
        _check_effects(base[tone], queues, f"{where} [base.{tone}]")
        if "priority" not in base[tone] or "action" not in base[tone]:
            raise ConfigError(f"{where}: [base.{tone}] needs a priority and an action")
    sla = raw.get("sla_hours", {})
    if set(sla) != set(PRIORITIES):
        raise ConfigError(f"{where}: [sla_hours] must give hours for each of {list(PRIORITIES)}")
    rules: list[Rule] = []
    seen: dict[str, Rule] = {}
    for i, r in enumerate(raw.get("rule", []), 1):
        name = r.get("name") or f"#{i}"
        here = f"{where} rule {name!r}"
        if name in seen:
            raise ConfigError(f"{here}: duplicate rule name")
        when = r.get("when", {})
        _check_when(when, config, here)
        effects = {k: v for k, v in r.items() if k not in ("name", "when")}
        _check_effects(effects, queues, here)
        rule = Rule(name, when, effects)
        for other in rules:
            if other.when == when and any(k in effects and k in other.effects and effects[k] != other.effects[k]
                                          for k in ("queue", "action")):
                raise ConfigError(f"{here}: same conditions as rule {other.name!r} but a different queue or action")
        seen[name] = rule
        rules.append(rule)
    c = raw.get("customers", {})
    return Policy(owners=dict(owners), queues=queues, base=base, sla_hours={k: int(v) for k, v in sla.items()},
                  rules=tuple(rules), significant_revenue_12m=float(c.get("significant_revenue_12m", 1e6)),
                  significant_quantile=float(c.get("significant_quantile", 0.9)),
                  chronic_min_complaints_90d=int(c.get("chronic_min_complaints_90d", 4)),
                  chronic_min_scandalist_share=float(c.get("chronic_min_scandalist_share", 0.5)),
                  chronic_rate_ratio=float(c.get("chronic_rate_ratio", 5.0)), source=where)


@lru_cache(maxsize=8)
def _load(path: Path, config: Config) -> Policy:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"policy file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"policy file {path} is not valid TOML: {exc}") from None
    return parse_policy(raw, config, str(path))


def load_policy(config: Config, path: str | os.PathLike | None = None) -> Policy:
    """The policy at `path`, else `$TRIAGE_POLICY`, else the packaged default."""
    return _load(Path(path or os.environ.get("TRIAGE_POLICY") or DEFAULT_POLICY).resolve(), config)


def route(facts: Facts, policy: Policy) -> dict:
    """Apply the base for the tone, then every rule that holds, in order."""
    base = policy.base[facts.tone]
    queue = base.get("queue", policy.owners[facts.root_cause])
    action, priority = base["action"], base["priority"]
    flags: list[str] = []
    cc: list[str] = []
    reasons = [base["reason"]]
    for rule in policy.rules:
        if not rule.holds(facts):
            continue
        e = rule.effects
        queue = e.get("queue", queue)
        action = e.get("action", action)
        priority = min(priority, e.get("priority", priority))  # "P1" < "P2": the most urgent wins
        extra = list(e.get("cc", [])) + ([policy.owners[facts.root_cause]] if e.get("cc_owner") else [])
        flags += [f for f in e.get("flags", []) if f not in flags]
        cc += [q for q in extra if q not in cc and q != queue]
        reasons.append(e["reason"])
    return {"queue": queue, "priority": priority, "action": action, "sla_hours": policy.sla_hours[priority],
            "flags": flags, "cc": cc, "reasons": reasons}


def memoized_router(policy: Policy, size: int = 4096) -> Callable[[Facts], dict]:
    """`route` for one policy, memoized: a route depends only on the Facts, which take a few hundred
    distinct values in practice (~28 us per complaint -> ~2 us). Every call returns its own lists,
    so a caller may change its result without changing the next one's."""
    decide = lru_cache(maxsize=size)(partial(route, policy=policy))

    def routed(facts: Facts) -> dict:
        r = decide(facts)
        return {**r, "flags": list(r["flags"]), "cc": list(r["cc"]), "reasons": list(r["reasons"])}
    return routed
