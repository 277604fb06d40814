"""The human-readable model card (`CARD.md`), written from `meta.json` after training and evaluation."""
from __future__ import annotations

from pathlib import Path


def _f(x) -> str:
    return f"{x:.3f}" if isinstance(x, (int, float)) else "—"


def render_card(meta: dict) -> str:
    td, m = meta["training_data"], meta.get("metrics", {})
    ev = m.get("evaluation", {})
    lines = [
        f"# Model card: triage {meta['version']}", "",
        "Two heads over one feature set: the root cause of a Russian customer complaint (10 classes) and its tone "
        "(legitimate vs scandalist). Intended for routing support complaints with a human in the loop; not for "
        "judging people. Trained only on the team-written corpus in `corpora/`.", "",
        "| field | value |", "|---|---|",
        f"| created | {meta['created']} |",
        f"| artifact SHA-256 | `{meta['sha256']}` |",
        f"| training data | `{td['path']}`, SHA-256 `{td['sha256']}`, {td['train_rows']} train rows, "
        f"{td.get('feedback_rows', 0)} feedback rows |",
        f"| labels | {', '.join(meta['labels']['root_cause'])}; tone: {', '.join(meta['labels']['tone'])} |",
        f"| root-cause head | {meta['heads']['root_cause']} |",
        f"| tone head | {meta['heads']['tone']} (corpus scandalist share {meta['train_scandalist_share']:.2f}, "
        "corrected to the deployment prior in config.toml) |",
        f"| features | {meta['heads'].get('features', '')} |",
        f"| training time | {meta.get('training_seconds')} s, seed {meta['seed']} |",
        f"| libraries | {', '.join(f'{k} {v}' for k, v in meta['libraries'].items())} |", "",
        "## Model selection (3-fold CV on the train split)", "", "| candidate | cause macro-F1 | tone F1 |", "|---|---:|---:|",
    ]
    lines += [f"| {k} | {_f(v['cause_macro_f1'])} | {_f(v['tone_f1'])} |" for k, v in meta.get("model_selection", {}).items()]
    h = m.get("holdout", {})
    lines += ["", "## Metrics", "", "| set | cause macro-F1 | tone F1 |", "|---|---:|---:|",
              f"| held-out test split ({h.get('test_rows')} rows) | {_f(h.get('cause_macro_f1'))} | {_f(h.get('tone_f1'))} |"]
    if ev:
        cv = ev["cross_validation"]
        lines += [f"| held-out hard subset | {_f(ev['hard']['cause_macro_f1'])} | {_f(ev['hard']['tone_f1'])} |",
                  f"| 5-fold CV, train split | {_f(cv['cause_macro_f1'])} ± {_f(cv['cause_macro_f1_std'])} | "
                  f"{_f(cv['tone_f1'])} ± {_f(cv['tone_f1_std'])} |"]
        lines += ["", "External benchmark (real customers' complaints, never trained on), at the deployment prior:", "",
                  "| set | cause accuracy | cause macro-F1 | false-scandalist rate |", "|---|---:|---:|---:|"]
        lines += [f"| {k} | {_f(v['cause_accuracy'])} | {_f(v['cause_macro_f1'])} | {_f(v['false_scandalist_rate'])} |"
                  for k, v in ev.get("benchmarks", {}).items()]
    lines += ["", "Full report: `evaluation.md` (per class, confusion matrix, calibration, baselines, confident errors).", "",
              "## Limitations", "",
              "- The corpus is written by the team; real complaints are longer, messier and distributed differently "
              "(product quality and billing dominate real traffic). The external benchmark rows above show the gap.",
              "- Tone is judged from one text; 'chronic' needs history (batch scoring computes it from the archive).",
              "- Texts that are not Russian get `low_confidence: true`; their labels are guesses."]
    return "\n".join(lines) + "\n"


def write_card(meta: dict, directory: Path) -> None:
    (Path(directory) / "CARD.md").write_text(render_card(meta), encoding="utf-8")
