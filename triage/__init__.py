"""triage: Russian complaint triage — root cause, tone (legitimate or scandalist), routing."""

__version__ = "0.1.0"
