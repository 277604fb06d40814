"""Shared fixtures: the real default model (trained into a temp dir when models/ has none), the real
FastAPI app over HTTP through TestClient."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from triage.api import Settings, create_app
from triage.artifacts import META_FILE, default_model_dir
from triage.pipeline import Classifier

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    directory = default_model_dir()
    if (directory / META_FILE).exists():
        return directory
    from training.train import train

    directory = tmp_path_factory.mktemp("model")
    train(out=directory, select_models=False)
    return directory


@pytest.fixture(scope="session", autouse=True)
def _use_model(model_dir, tmp_path_factory):
    """Every test, CLI subprocess included, loads the same model and writes feedback to a temporary
    database, never to the user's own."""
    os.environ["TRIAGE_MODEL"] = str(model_dir)
    os.environ.setdefault("TRIAGE_DB", f"sqlite:///{tmp_path_factory.mktemp('feedback')}/feedback.db")
    yield


@pytest.fixture(scope="session")
def classifier(model_dir) -> Classifier:
    return Classifier.load(model_dir)


@pytest.fixture()
def client(model_dir, classifier):
    app = create_app(Settings(model_dir=str(model_dir)), classifier=classifier)
    with TestClient(app) as c:
        yield c
