"""Saving and loading the model artifact with its metadata (`meta.json`, the model card's data).

The artifact is the runtime model of triage/model.py: numpy arrays, vocabularies and triage's own
classes, no scikit-learn objects. Loading checks, before anything is unpickled: the format version,
the SHA-256 of `model.joblib` against the card, the label set against the config, and the major
version of numpy, whose arrays it holds. A mismatch raises ModelError naming both values and how to
fix it (`make train`).
Only the configured model directory is ever loaded: no request can choose a path.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path

import joblib

from triage.config import PACKAGE_DIR
from triage.errors import ModelError

FORMAT_VERSION = 2  # 2: runtime arrays instead of pickled scikit-learn estimators
MODEL_FILE = "model.joblib"
META_FILE = "meta.json"
# Libraries whose major version changes what the pickled arrays mean.
CHECKED_LIBRARIES = ("numpy",)
RECORDED_LIBRARIES = ("scikit-learn", "numpy", "scipy", "spacy", "pymorphy3", "pymorphy3-dicts-ru", "joblib")


def default_model_dir() -> Path:
    """`$TRIAGE_MODEL`, else `models/default` of the source tree."""
    return Path(os.environ.get("TRIAGE_MODEL") or PACKAGE_DIR.parent / "models" / "default")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in RECORDED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model, meta: dict, directory: Path) -> dict:
    """Write model.joblib and meta.json atomically; returns the full meta with sha256 and versions."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (MODEL_FILE + ".tmp")
    joblib.dump(model, tmp, compress=3)
    os.replace(tmp, directory / MODEL_FILE)
    full = {**meta, "format_version": FORMAT_VERSION, "libraries": library_versions(),
            "sha256": sha256_of(directory / MODEL_FILE)}
    tmp_meta = directory / (META_FILE + ".tmp")
    tmp_meta.write_text(json.dumps(full, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp_meta, directory / META_FILE)
    return full


def read_meta(directory: Path) -> dict:
    path = directory / META_FILE
    if not path.exists():
        raise ModelError(f"no model card at {path}: train a model first (`make train` or `triage train`)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"model card {path} is not valid JSON: {exc}") from None


def check_model(directory: Path | None = None, root_causes: tuple[str, ...] | None = None) -> tuple[Path, dict]:
    """(model file, meta) of `directory` after every check that needs no unpickling: format version,
    SHA-256, library versions, labels."""
    directory = Path(directory or default_model_dir())
    meta = read_meta(directory)
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"model in {directory} has format version {meta.get('format_version')}, "
                         f"this triage reads {FORMAT_VERSION}: retrain with `make train`")
    path = directory / MODEL_FILE
    if not path.exists():
        raise ModelError(f"model card found but {path} is missing: retrain with `make train`")
    actual = sha256_of(path)
    if actual != meta.get("sha256"):
        raise ModelError(f"{path} has SHA-256 {actual[:12]}…, the card says {str(meta.get('sha256'))[:12]}…: "
                         "the file was changed or replaced; refusing to load it")
    installed = library_versions()
    for name in CHECKED_LIBRARIES:
        built = str(meta.get("libraries", {}).get(name))
        if built.split(".")[0] != installed[name].split(".")[0]:
            raise ModelError(f"model in {directory} was built with {name} {built}, installed is "
                             f"{installed[name]}: retrain with `make train` or install {name}=={built}")
    if root_causes is not None and tuple(meta.get("labels", {}).get("root_cause", ())) != tuple(root_causes):
        raise ModelError(f"model labels {meta.get('labels', {}).get('root_cause')} differ from the configured "
                         f"root causes {list(root_causes)}: retrain with `make train`")
    return path, meta


def load_model(directory: Path | None = None, root_causes: tuple[str, ...] | None = None):
    """(model, meta) from `directory`; every check runs before the pickle is opened."""
    path, meta = check_model(directory, root_causes)
    return joblib.load(path), meta
