"""Domain errors, one catalogue. The API maps them to HTTP statuses, the CLI to exit codes."""


class TriageError(Exception):
    """Base class: every error the package raises on purpose."""


class ConfigError(TriageError):
    """The config or the routing policy file is missing or invalid."""


class ModelError(TriageError):
    """The model artifact is missing, tampered with, or built by other library versions."""


class InputError(TriageError):
    """Input unusable before any work starts (missing file, no `text` column, bad option)."""


class WorkerError(TriageError):
    """A worker process of a batch run died (killed, out of memory): the run stops, resumable."""


class StoreError(TriageError):
    """The feedback database cannot be used (unreachable, or written by a newer triage)."""
