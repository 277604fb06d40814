"""Customer history: significance (churn risk) and the chronic-complainer verdict.

"Chronic" is a history, not a tone: many complaints in 90 days, mostly scandalist, or a complaint
rate far above the median for the customer's revenue. Legitimate repeats about an unresolved problem
never make a customer chronic: they raise the priority of the company's problem instead
(policy rule `repeated_unresolved`).
"""
from __future__ import annotations

from dataclasses import dataclass

from triage.routing import Policy


@dataclass(frozen=True)
class Customer:
    id: str | None = None
    complaints_90d: int | None = None
    revenue_12m: float | None = None


@dataclass(frozen=True)
class ChronicVerdict:
    chronic: bool
    score: float
    reasons: list[str]


def is_significant(customer: Customer | None, threshold: float) -> bool:
    return bool(customer and customer.revenue_12m is not None and customer.revenue_12m >= threshold)


def chronic_verdict(complaints_90d: int, scandalist_share: float, policy: Policy,
                    rate_ratio: float | None = None) -> ChronicVerdict:
    """Chronic when the customer complains often AND mostly as a scandalist.

    `rate_ratio` is the customer's complaints per 1,000 of revenue over the archive's median rate,
    when revenue is known. The score grows with volume and scandalist share, in [0, 1].
    """
    reasons: list[str] = []
    often = complaints_90d >= policy.chronic_min_complaints_90d
    if often:
        reasons.append(f"{complaints_90d} жалоб за 90 дней (порог {policy.chronic_min_complaints_90d})")
    heavy = rate_ratio is not None and rate_ratio >= policy.chronic_rate_ratio
    if heavy:
        reasons.append(f"жалоб на 1000 выручки в {rate_ratio:.1f} раза больше медианы")
    scandalous = scandalist_share >= policy.chronic_min_scandalist_share
    if scandalous:
        reasons.append(f"доля скандальных обращений {scandalist_share:.0%}")
    elif often or heavy:
        reasons.append("частые обращения, но в основном законные: это проблема компании, не клиента")
    volume = min(1.0, complaints_90d / (2.0 * policy.chronic_min_complaints_90d))
    score = round(volume * scandalist_share, 4)
    return ChronicVerdict(chronic=(often or heavy) and scandalous, score=score, reasons=reasons)
