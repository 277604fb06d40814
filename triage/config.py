"""Labels and thresholds, read from the commented `config.toml` (the single source of truth).

Training, the HTTP API and batch scoring all call `load_config()`; nothing reads the file at import.
The path resolves argument -> `TRIAGE_CONFIG` -> the file packaged beside this module.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from triage.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG = PACKAGE_DIR / "config.toml"


@dataclass(frozen=True)
class Config:
    root_causes: tuple[str, ...]
    tones: tuple[str, ...]
    secondary_cause: float
    scandalist_threshold: float
    min_top_cause: float
    min_margin: float
    tone_band: float
    scandalist_share: float
    max_chars: int
    max_batch_items: int
    min_cyrillic_share: float
    feedback_retention_days: int
    review_record: str
    review_days: int


REVIEW_RECORD = ("low_confidence", "all", "none")


def _positive_int(table: dict, key: str, default: int, where: str) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where}: '{key}' must be a whole number of days, at least 1, got {value!r}")
    return value


def _probability(table: dict, key: str, where: str) -> float:
    value = table.get(key)
    if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{where}: '{key}' must be a number between 0 and 1, got {value!r}")
    return float(value)


def parse_config(raw: dict, where: str) -> Config:
    """Validate a parsed config table; errors name the file and the key."""
    causes = raw.get("root_causes")
    tones = raw.get("tones")
    if not causes or len(set(causes)) != len(causes):
        raise ConfigError(f"{where}: 'root_causes' must be a non-empty list of distinct codes")
    if tones != ["legitimate", "scandalist"]:
        raise ConfigError(f"{where}: 'tones' must be exactly [\"legitimate\", \"scandalist\"], got {tones!r}")
    th, prior = raw.get("thresholds", {}), raw.get("prior", {})
    text, lang, fb = raw.get("text", {}), raw.get("language", {}), raw.get("feedback", {})
    if fb.get("review_record", "low_confidence") not in REVIEW_RECORD:
        raise ConfigError(f"{where}: 'feedback.review_record' must be one of {list(REVIEW_RECORD)}, "
                          f"got {fb.get('review_record')!r}")
    share = _probability(prior, "scandalist_share", where)
    if not 0.0 < share < 1.0:
        raise ConfigError(f"{where}: 'prior.scandalist_share' must be strictly between 0 and 1, got {share}")
    return Config(
        root_causes=tuple(causes),
        tones=tuple(tones),
        secondary_cause=_probability(th, "secondary_cause", where),
        scandalist_threshold=_probability(th, "scandalist", where),
        min_top_cause=_probability(th, "min_top_cause", where),
        min_margin=_probability(th, "min_margin", where),
        tone_band=_probability(th, "tone_band", where),
        scandalist_share=share,
        max_chars=int(text.get("max_chars", 20000)),
        max_batch_items=int(text.get("max_batch_items", 1000)),
        min_cyrillic_share=_probability(lang, "min_cyrillic_share", where),
        feedback_retention_days=_positive_int(fb, "retention_days", 90, f"{where} [feedback]"),
        review_record=fb.get("review_record", "low_confidence"),
        review_days=_positive_int(fb, "review_days", 7, f"{where} [feedback]"),
    )


@lru_cache(maxsize=8)
def _load(path: Path) -> Config:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return parse_config(raw, str(path))


def load_config(path: str | os.PathLike | None = None) -> Config:
    """The config at `path`, else `$TRIAGE_CONFIG`, else the packaged default; limits may be
    overridden by `TRIAGE_MAX_TEXT_CHARS` and `TRIAGE_MAX_BATCH_ITEMS` (the contract's names)."""
    chosen = Path(path or os.environ.get("TRIAGE_CONFIG") or DEFAULT_CONFIG)
    config = _load(chosen.resolve())
    overrides = {}
    for env, field in (("TRIAGE_MAX_TEXT_CHARS", "max_chars"), ("TRIAGE_MAX_BATCH_ITEMS", "max_batch_items")):
        if os.environ.get(env):
            try:
                overrides[field] = int(os.environ[env])
            except ValueError:
                raise ConfigError(f"{env} must be an integer, got {os.environ[env]!r}") from None
    if overrides:
        config = replace(config, **overrides)
    return config
