"""Training produces a loadable model with its card; loading refuses tampered or mismatched artifacts."""
import json
import subprocess
import sys
import shutil

import pytest

from triage.artifacts import META_FILE, MODEL_FILE, load_model
from triage.config import load_config
from triage.errors import ModelError

CARD_KEYS = {"version", "created", "training_data", "labels", "heads", "metrics", "libraries", "sha256",
             "format_version", "train_scandalist_share", "seed"}


@pytest.fixture()
def copy_of_model(model_dir, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(model_dir, target)
    return target


def test_card_describes_the_model(model_dir):
    meta = json.loads((model_dir / META_FILE).read_text())
    assert CARD_KEYS <= set(meta)
    assert meta["labels"]["root_cause"] == list(load_config().root_causes)
    assert len(meta["training_data"]["sha256"]) == 64
    assert 0 <= meta["metrics"]["holdout"]["cause_macro_f1"] <= 1
    assert meta["libraries"]["scikit-learn"]


def test_tampered_model_is_refused(copy_of_model):
    with open(copy_of_model / MODEL_FILE, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelError, match="SHA-256"):
        load_model(copy_of_model)


def test_other_numpy_major_version_is_refused(copy_of_model):
    meta = json.loads((copy_of_model / META_FILE).read_text())
    meta["libraries"]["numpy"] = "1.26.4"
    (copy_of_model / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="numpy 1.26.4"):
        load_model(copy_of_model)


def test_serving_does_not_import_scikit_learn(model_dir):
    """The runtime model is plain arrays: loading and classifying must not pull in scikit-learn."""
    code = ("import sys; from triage.pipeline import Classifier; "
            f"Classifier.load({str(model_dir)!r}).classify('курьер опоздал'); "
            "print(any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_label_mismatch_is_refused(copy_of_model):
    with pytest.raises(ModelError, match="differ from the configured"):
        load_model(copy_of_model, root_causes=("delivery", "other"))


def test_missing_model_says_how_to_fix(tmp_path):
    with pytest.raises(ModelError, match="make train"):
        load_model(tmp_path)


def test_training_is_reproducible_and_loadable(tmp_path):
    """Two trainings on the same small corpus give identical predictions; the result loads and predicts."""
    from training.corpus import DEFAULT_CORPUS
    from training.train import train
    from triage.pipeline import Classifier

    rows = [json.loads(l) for l in DEFAULT_CORPUS.read_text(encoding="utf-8").splitlines()][:600]
    data = tmp_path / "small.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    a = train(data, tmp_path / "a", select_models=False)
    b = train(data, tmp_path / "b", select_models=False)
    assert a["training_data"]["sha256"] == b["training_data"]["sha256"]
    text = "Деньги за возврат куртки не пришли уже месяц"
    ra, rb = Classifier.load(tmp_path / "a").classify(text), Classifier.load(tmp_path / "b").classify(text)
    assert ra["root_cause_scores"] == rb["root_cause_scores"] and ra["tone_score"] == rb["tone_score"]
