"""`triage evaluate`: the honest picture of the model on text it has not seen.

Writes `evaluation.md`, `evaluation.json`, `confusion.png` and `reliability.png` to the model
directory and the headline numbers into the model card. Sections: held-out test split (per-class
P/R/F1, macro-F1, confusion matrix, tone F1/ROC-AUC/ECE), the hard subset, 5-fold CV on the train
split, baselines (majority class; plain TF-IDF + LR; our features without signals / char n-grams),
the 20 most confident errors, and every labeled external benchmark set, per subset. Benchmark texts
are never written to the report: only numbers.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support,
                             roc_auc_score)
from sklearn.pipeline import make_pipeline

from training.card import write_card
from training.corpus import Example, load_corpus
from training.fit import ComplaintFeatures, fit_model
from training.train import cross_validate, estimator, features
from triage.artifacts import META_FILE, default_model_dir, load_model
from triage.config import PACKAGE_DIR, Config, load_config
from triage.features import prepare
from triage.model import TriageModel, adjust_prior

BENCHMARKS = PACKAGE_DIR.parent.parent / "shared" / "benchmarks"


def benchmark_dir() -> Path:
    return Path(os.environ.get("TRIAGE_BENCHMARKS") or BENCHMARKS)


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width probability bins, weighted by bin size."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    return float(sum(abs(y[idx == b].mean() - p[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))


def cause_metrics(truth: list[str], predicted: list[str], labels: tuple[str, ...]) -> dict:
    p, r, f, s = precision_recall_fscore_support(truth, predicted, labels=list(labels), zero_division=0)
    present = [i for i, n in enumerate(s) if n > 0]
    return {"accuracy": float(accuracy_score(truth, predicted)),
            "macro_f1": float(np.mean([f[i] for i in present])) if present else 0.0,
            "per_class": {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                          for i, lab in enumerate(labels)}}


def tone_metrics(is_scandalist: np.ndarray, score: np.ndarray, threshold: float) -> dict:
    flagged = score >= threshold
    legit = ~is_scandalist
    out = {"f1": float(f1_score(is_scandalist, flagged, zero_division=0)),
           "precision": float((flagged & is_scandalist).sum() / max(1, flagged.sum())),
           "recall": float((flagged & is_scandalist).sum() / max(1, is_scandalist.sum())),
           "false_scandalist_rate": float((flagged & legit).sum() / max(1, legit.sum())),
           "scandalist_support": int(is_scandalist.sum()), "ece": expected_calibration_error(score, is_scandalist)}
    if 0 < is_scandalist.sum() < len(is_scandalist):
        out["roc_auc"] = float(roc_auc_score(is_scandalist, score))
    return out


def score_examples(model: TriageModel, examples: list[Example], config: Config, share: float | None):
    p_cause, p_tone = model.predict_proba(prepare(e.text for e in examples), share)
    return p_cause, p_tone, [config.root_causes[i] for i in p_cause.argmax(1)]


def evaluate_set(model, examples, config: Config, share: float | None) -> dict:
    _, p_tone, predicted = score_examples(model, examples, config, share)
    return set_metrics(examples, p_tone, predicted, config)


def set_metrics(examples: list[Example], p_tone: np.ndarray, predicted: list[str], config: Config) -> dict:
    """Cause and tone metrics of already scored examples."""
    truth = [e.root_cause for e in examples]
    return {"rows": len(examples), "cause": cause_metrics(truth, predicted, config.root_causes),
            "tone": tone_metrics(np.array([e.tone == "scandalist" for e in examples]), p_tone,
                                 config.scandalist_threshold)}


def benchmark_examples(config: Config) -> dict[str, list[Example]]:
    """Labeled external sets, split by their `subset` field plus an 'all' entry per file."""
    sets: dict[str, list[Example]] = {}
    root = benchmark_dir()
    for path in sorted(root.glob("*/labeled*.jsonl")) if root.exists() else []:
        name = f"{path.parent.name}/{path.name}"
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line) if line.strip() else {}
            if r.get("root_cause") not in config.root_causes or r.get("tone") not in config.tones:
                continue
            e = Example(id=str(r.get("id")), text=r["text"], root_cause=r["root_cause"], tone=r["tone"], split="benchmark")
            sets.setdefault(f"{name} [all]", []).append(e)
            sets.setdefault(f"{name} [{r.get('subset', 'all')}]", []).append(e)
    return sets


def baselines(train: list[Example], test: list[Example], config: Config, external: list[Example]) -> dict:
    """Majority class, plain TF-IDF + LR (no lemmas, no signals), and ablations of our features, each
    on the held-out split and on the external benchmark (`external`, when there is one)."""
    y_train = [e.root_cause for e in train]
    t_train = [e.tone == "scandalist" for e in train]

    sets = {split: ex for split, ex in (("holdout", test), ("external", external)) if ex}
    unscored = {"holdout": {}, "external": {}}  # a set without examples reports nothing

    def scores(predicted_causes, predicted_scandalist, examples) -> dict:
        truth = [e.root_cause for e in examples]
        tone_truth = np.array([e.tone == "scandalist" for e in examples])
        return {"cause_macro_f1": cause_metrics(truth, list(predicted_causes), config.root_causes)["macro_f1"],
                "tone_f1": float(f1_score(tone_truth, predicted_scandalist, zero_division=0))}

    def texts(examples: list[Example]) -> list[str]:
        return [e.text for e in examples]

    out = {}
    for name, make in {
        "majority": lambda: DummyClassifier(strategy="most_frequent"),
        "tfidf_words_logreg": lambda: make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                                                    estimator(8.0)),
    }.items():
        cause, tone = make().fit(texts(train), y_train), make().fit(texts(train), t_train)
        out[name] = {**unscored, **{split: scores(cause.predict(texts(ex)), tone.predict(texts(ex)).astype(bool), ex)
                                    for split, ex in sets.items()}}
    docs_train = prepare(texts(train))
    docs = {split: prepare(texts(ex)) for split, ex in sets.items()}  # prepared once for every ablation
    for name, feats in {"ours_C8": ComplaintFeatures(),
                        "ours_C8_without_signals": ComplaintFeatures(use_signals=False),
                        "ours_C8_without_char_ngrams": ComplaintFeatures(use_chars=False)}.items():
        est = estimator(8.0)
        m = fit_model(config.root_causes, feats, est, est, docs_train, y_train, [e.tone for e in train])
        out[name] = dict(unscored)
        for split, ex in sets.items():
            p_cause, p_tone = m.predict_proba(docs[split])
            out[name][split] = scores([config.root_causes[i] for i in p_cause.argmax(1)], p_tone >= 0.5, ex)
    return out


def confident_errors(test: list[Example], p_cause: np.ndarray, p_tone: np.ndarray, predicted: list[str],
                     n: int = 20) -> list[dict]:
    """The `n` wrong predictions the model was surest of, from scores at the corpus prior."""
    errors = []
    for i, e in enumerate(test):
        if predicted[i] != e.root_cause:
            errors.append({"id": e.id, "kind": "root_cause", "true": e.root_cause, "predicted": predicted[i],
                           "confidence": float(p_cause[i].max()), "text": e.text[:300]})
        if (p_tone[i] >= 0.5) != (e.tone == "scandalist"):
            errors.append({"id": e.id, "kind": "tone", "true": e.tone,
                           "predicted": "scandalist" if p_tone[i] >= 0.5 else "legitimate",
                           "confidence": float(max(p_tone[i], 1 - p_tone[i])), "text": e.text[:300]})
    return sorted(errors, key=lambda x: -x["confidence"])[:n]


def external_benchmarks(model, config: Config, sets: dict[str, list[Example]]) -> dict:
    """Every labeled external set, per subset, at the deployment prior."""
    return {name: evaluate_set(model, ex, config, config.scandalist_share) for name, ex in sets.items()}


def plot_confusion(truth, predicted, labels, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = confusion_matrix(truth, predicted, labels=list(labels))
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Root cause, held-out test split")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_reliability(y: np.ndarray, p: np.ndarray, path: Path, bins: int = 10) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges) - 1, 0, bins - 1)
    xs = [p[idx == b].mean() for b in range(bins) if (idx == b).any()]
    ys = [y[idx == b].mean() for b in range(bins) if (idx == b).any()]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.plot(xs, ys, "o-")
    ax.set_xlabel("predicted P(scandalist)")
    ax.set_ylabel("observed share scandalist")
    ax.set_title("Tone calibration, held-out test split")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _cause_rows(metrics: dict) -> list[str]:
    rows = ["| cause | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    rows += [f"| {k} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
             for k, v in metrics["per_class"].items()]
    return rows


def _set_line(name: str, m: dict) -> str:
    t = m["tone"]
    return (f"| {name} | {m['rows']} | {m['cause']['accuracy']:.3f} | {m['cause']['macro_f1']:.3f} | {t['f1']:.3f} | "
            f"{t['precision']:.3f} | {t['recall']:.3f} | {t['false_scandalist_rate']:.3f} | {t.get('roc_auc', float('nan')):.3f} |")


def render(report: dict, meta: dict) -> str:
    h = report["holdout"]
    head = "| set | rows | cause acc | cause macro-F1 | tone F1 | scand. precision | scand. recall | false-scandalist rate | tone ROC-AUC |"
    lines = [f"# Evaluation of model {meta['version']}", "",
             f"Corpus sha256 `{meta['training_data']['sha256'][:16]}`; root cause: {meta['heads']['root_cause']}, "
             f"tone: {meta['heads']['tone']}; features: {meta['heads']['features']}. Tone numbers on the corpus use its own prior (threshold 0.5); on the external "
             f"benchmark the deployment prior from config.toml ({report['deployment_scandalist_share']}).", "",
             "## Summary", "", head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
             _set_line("held-out test", h), _set_line("held-out hard subset", report["hard"]),
             _set_line("held-out test, deployment prior", report["holdout_deployment_prior"])]
    lines += [_set_line(name, m) for name, m in report["benchmarks"].items()]
    cv = report["cross_validation"]
    lines += ["", "## 5-fold cross-validation on the train split", "",
              f"cause macro-F1 {cv['cause_macro_f1']:.3f} ± {cv['cause_macro_f1_std']:.3f}; "
              f"tone F1 {cv['tone_f1']:.3f} ± {cv['tone_f1_std']:.3f} (held-out: {h['cause']['macro_f1']:.3f} / {h['tone']['f1']:.3f})",
              "", "## Baselines (same split; external = every labeled benchmark text, tone at threshold 0.5, corpus prior)", "",
              "| model | held-out cause macro-F1 | held-out tone F1 | external cause macro-F1 | external tone F1 |",
              "|---|---:|---:|---:|---:|"]
    fmt = lambda d, k: f"{d[k]:.3f}" if k in d else "—"  # noqa: E731
    lines += [f"| {k} | {fmt(v['holdout'], 'cause_macro_f1')} | {fmt(v['holdout'], 'tone_f1')} | "
              f"{fmt(v['external'], 'cause_macro_f1')} | {fmt(v['external'], 'tone_f1')} |" for k, v in report["baselines"].items()]
    lines += [f"| **this model** | {h['cause']['macro_f1']:.3f} | {h['tone']['f1']:.3f} | | |",
              "", "## Held-out per class", "", *_cause_rows(h["cause"]),
              "", f"Tone: ECE {h['tone']['ece']:.3f}. ![confusion](confusion.png) ![reliability](reliability.png)"]
    for name, m in report["benchmarks"].items():
        lines += ["", f"## External benchmark {name} per class", "", *_cause_rows(m["cause"])]
    lines += ["", "## The 20 most confident errors on the held-out split", "", "| id | head | true | predicted | conf. | text |",
              "|---|---|---|---|---:|---|"]
    lines += [f"| {e['id']} | {e['kind']} | {e['true']} | {e['predicted']} | {e['confidence']:.2f} | "
              f"{e['text'].replace('|', '/').replace(chr(10), ' ')[:160]} |" for e in report["confident_errors"]]
    return "\n".join(lines) + "\n"


def evaluate(data: Path | None = None, out: Path | None = None, model_dir: Path | None = None) -> str:
    """Run every section and write the report files; returns a short summary line."""
    config = load_config()
    model_dir = Path(model_dir or default_model_dir())
    model, meta = load_model(model_dir, config.root_causes)
    spec = meta["model_spec"]
    corpus = load_corpus(config, data)
    train, test = corpus.split("train"), corpus.split("test")
    hard = [e for e in test if e.hard]
    external = benchmark_examples(config)
    # The test split is scored once; the deployment-prior tone is the same correction predict_proba applies.
    p_cause, p_tone, predicted = score_examples(model, test, config, None)
    deployed = adjust_prior(p_tone, model.train_scandalist_share, config.scandalist_share)
    report = {
        "deployment_scandalist_share": config.scandalist_share,
        "holdout": set_metrics(test, p_tone, predicted, config),
        "holdout_deployment_prior": set_metrics(test, deployed, predicted, config),
        "hard": evaluate_set(model, hard, config, None) if hard else {},
        "cross_validation": cross_validate(prepare(e.text for e in train), [e.root_cause for e in train],
                                           [e.tone for e in train], config, features(spec["signal_weight"]),
                                           estimator(spec["cause_C"]), estimator(spec["tone_C"])),
        "baselines": baselines(train, test, config, next((ex for n, ex in external.items() if n.endswith("[all]")), [])),
        "confident_errors": confident_errors(test, p_cause, p_tone, predicted),
        "benchmarks": external_benchmarks(model, config, external),
    }
    out = Path(out or model_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot_confusion([e.root_cause for e in test], predicted, config.root_causes, out / "confusion.png")
    plot_reliability(np.array([e.tone == "scandalist" for e in test]), p_tone, out / "reliability.png")
    (out / "evaluation.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "evaluation.md").write_text(render(report, meta), encoding="utf-8")
    meta["metrics"]["evaluation"] = {
        "holdout": {"cause_macro_f1": report["holdout"]["cause"]["macro_f1"], "tone_f1": report["holdout"]["tone"]["f1"]},
        "hard": {"cause_macro_f1": report["hard"].get("cause", {}).get("macro_f1"),
                 "tone_f1": report["hard"].get("tone", {}).get("f1")},
        "cross_validation": report["cross_validation"],
        "benchmarks": {n: {"cause_macro_f1": m["cause"]["macro_f1"], "cause_accuracy": m["cause"]["accuracy"],
                           "false_scandalist_rate": m["tone"]["false_scandalist_rate"]}
                       for n, m in report["benchmarks"].items()}}
    (model_dir / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    write_card(meta, model_dir)
    h = report["holdout"]
    return (f"held-out cause macro-F1 {h['cause']['macro_f1']:.3f}, tone F1 {h['tone']['f1']:.3f}; "
            f"report in {out / 'evaluation.md'}")
