"""Train the default model: corpus (train split) -> TriageModel -> models/default with its card.

Candidates (signal weight x regularization) are compared by 3-fold cross-validated F1 on the train
split (features refit inside every fold); the best is fit on the whole train split and measured once
on the held-out test split. Seeds are fixed, so the same corpus gives the same model.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from training.card import write_card
from training.corpus import Corpus, load_corpus
from training.feedback_merge import merge_feedback
from training.fit import ComplaintFeatures, fit_model
from triage import __version__
from triage.artifacts import default_model_dir, save_model
from triage.config import Config, load_config
from triage.features import prepare
from triage.model import TriageModel

SEED = 13
FOLDS = 5            # for the evaluation report's cross-validation
SELECTION_FOLDS = 3  # for model selection inside `make train`, to keep training well under a minute
SIGNAL_WEIGHTS = (0.0, 0.3, 1.0)
REGULARIZATION = (4.0, 16.0)


def estimator(c: float) -> LogisticRegression:
    """Both heads are logistic regressions: calibrated enough, ~1 ms per text.

    A sigmoid-calibrated LinearSVC was compared during development: on the first 400 corpus rows its
    cross-validated cause macro-F1 was within one standard deviation of logistic regression (0.654 vs
    0.640, std 0.03-0.05), but its 30 per-class calibrators cost ~7 ms per single-text prediction against
    ~1 ms, which breaks the API latency target.
    """
    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=SEED)


def features(signal_weight: float) -> ComplaintFeatures:
    return ComplaintFeatures(use_signals=signal_weight > 0, signal_weight=signal_weight or 1.0)


def cross_validate(docs, causes, tones, config: Config, feats: ComplaintFeatures, cause_est, tone_est,
                   folds: int = FOLDS) -> dict:
    """Mean and std of cause macro-F1 and scandalist F1 over stratified folds (features refit per fold)."""
    causes, tones = np.asarray(causes), np.asarray(tones)
    strata = np.char.add(causes.astype(str), tones.astype(str))
    cause_f1, tone_f1 = [], []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(causes, strata):
        model = fit_model(config.root_causes, feats, cause_est, tone_est, [docs[i] for i in train], causes[train],
                          tones[train])
        p_cause, p_tone = model.predict_proba([docs[i] for i in test])
        predicted = np.asarray(config.root_causes)[p_cause.argmax(1)]
        cause_f1.append(f1_score(causes[test], predicted, average="macro"))
        tone_f1.append(f1_score(tones[test] == "scandalist", p_tone >= 0.5))
    return {"cause_macro_f1": float(np.mean(cause_f1)), "cause_macro_f1_std": float(np.std(cause_f1)),
            "tone_f1": float(np.mean(tone_f1)), "tone_f1_std": float(np.std(tone_f1)), "folds": folds}


def select(docs, causes, tones, config: Config) -> tuple[dict, dict]:
    """Grid over signal weight x regularization by cross-validated F1 on the train split.

    Both heads share one feature transformer, so the signal weight is the one whose best cause F1 plus
    best tone F1 is highest; within it each head takes its own best C."""
    results = {f"signals{w:g}_C{c:g}": cross_validate(docs, causes, tones, config, features(w), estimator(c),
                                                      estimator(c), SELECTION_FOLDS)
               for w in SIGNAL_WEIGHTS for c in REGULARIZATION}

    def best(w: float, metric: str) -> float:
        return max(REGULARIZATION, key=lambda c: results[f"signals{w:g}_C{c:g}"][metric])

    weight = max(SIGNAL_WEIGHTS, key=lambda w: results[f"signals{w:g}_C{best(w, 'cause_macro_f1'):g}"]["cause_macro_f1"]
                 + results[f"signals{w:g}_C{best(w, 'tone_f1'):g}"]["tone_f1"])
    spec = {"signal_weight": weight, "cause_C": best(weight, "cause_macro_f1"), "tone_C": best(weight, "tone_f1")}
    return spec, results


def holdout_metrics(model: TriageModel, corpus: Corpus, config: Config) -> dict:
    test = corpus.split("test")
    p_cause, p_tone = model.predict_proba(prepare(e.text for e in test))
    predicted = np.asarray(config.root_causes)[p_cause.argmax(1)]
    truth = [e.root_cause for e in test]
    return {"test_rows": len(test),
            "cause_macro_f1": float(f1_score(truth, predicted, average="macro")),
            "cause_accuracy": float(np.mean(predicted == np.asarray(truth))),
            "tone_f1": float(f1_score([e.tone == "scandalist" for e in test], p_tone >= 0.5))}


def train(data: Path | None = None, out: Path | None = None, extra=None, select_models: bool = True) -> dict:
    """Fit, measure and save. `extra` are agents' corrections as examples, oldest first; they join the
    train split by the rules of training/feedback_merge.py (never the test split)."""
    started = time.perf_counter()
    config = load_config()
    corpus = load_corpus(config, data)
    merged = merge_feedback(corpus, list(extra or []))
    examples = merged.train
    docs = prepare(e.text for e in examples)
    causes = [e.root_cause for e in examples]
    tones = [e.tone for e in examples]
    if select_models:
        spec, compared = select(docs, causes, tones, config)
    else:
        spec, compared = {"signal_weight": 0.3, "cause_C": 16.0, "tone_C": 16.0}, {}
    model = fit_model(config.root_causes, features(spec["signal_weight"]), estimator(spec["cause_C"]),
                      estimator(spec["tone_C"]), docs, causes, tones)
    meta = {
        "version": f"{__version__}+{corpus.sha256[:8]}" + (f".fb{merged.digest[:8]}" if merged.used else ""),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "training_data": {"path": str(Path(data or "corpora/complaints.jsonl")), "sha256": corpus.sha256,
                          "train_rows": len(corpus.split("train")), "feedback_rows": len(merged.used),
                          "feedback": merged.summary(),
                          "problems": corpus.problems[:50]},
        "labels": {"root_cause": list(config.root_causes), "tone": list(config.tones)},
        "heads": {"root_cause": f"logistic regression C={spec['cause_C']:g}",
                  "tone": f"logistic regression C={spec['tone_C']:g}",
                  "features": f"lemma 1-2-gram TF-IDF, char 2-4-grams of unknown tokens, signals x{spec['signal_weight']:g}"},
        "model_selection": compared,
        "model_spec": spec,
        "train_scandalist_share": model.train_scandalist_share,
        "metrics": {"holdout": holdout_metrics(model, corpus, config)},
        "seed": SEED,
    }
    meta["training_seconds"] = round(time.perf_counter() - started, 2)
    directory = Path(out or default_model_dir())
    saved = save_model(model, meta, directory)
    write_card(saved, directory)
    return saved
