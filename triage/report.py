"""`triage report SCORED --out FILE`: what goes wrong, for managers.

Streams a scored file (or a Dask parts directory) once and aggregates: root-cause distribution and
its trend over time, a Pareto chart of causes, legitimate vs scandalist share per cause, top
signals, chronic customers (from the `customers` file beside SCORED) with their share of complaint
volume against their share of revenue, and example complaints per cause (their text is read from
the original archive given with `--input`; scored files carry no complaint text). HTML output is
one self-contained file with the charts embedded; Markdown output writes the charts beside it.
"""
from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from triage.config import load_config
from triage.io import read_records

EXAMPLES_PER_CAUSE = 3


@dataclass
class Aggregates:
    total: int = 0
    causes: Counter = field(default_factory=Counter)
    scandalist: Counter = field(default_factory=Counter)
    by_month: dict = field(default_factory=lambda: defaultdict(Counter))
    signals: Counter = field(default_factory=Counter)
    queues: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=lambda: defaultdict(list))  # cause -> [(confidence, line)]

    def add(self, row: dict) -> None:
        cause = row.get("root_cause")
        if not cause:
            return
        self.total += 1
        self.causes[cause] += 1
        self.scandalist[cause] += row.get("tone") == "scandalist"
        if row.get("created_at"):
            self.by_month[str(row["created_at"])[:7]][cause] += 1
        for s in _json(row.get("signals")) or []:
            self.signals[s["name"]] += 1
        route = _json(row.get("route")) or {}
        self.queues[route.get("queue")] += 1
        scores = _json(row.get("root_cause_scores")) or {}
        best = self.examples[cause]
        best.append((float(scores.get(cause, 0)), int(row.get("line") or 0)))
        best.sort(reverse=True)
        del best[EXAMPLES_PER_CAUSE:]


def _json(value):
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def scored_rows(path: Path) -> Iterator[dict]:
    files = sorted(path.glob("part-*")) if path.is_dir() else [path]
    for f in files:
        for rec in read_records(f):
            if rec.row:
                yield rec.row


def example_texts(input_path: Path | None, wanted: set[int]) -> dict[int, str]:
    if not input_path or not wanted:
        return {}
    found = {}
    for rec in read_records(input_path):
        if rec.line in wanted and rec.row and isinstance(rec.row.get("text"), str):
            found[rec.line] = rec.row["text"]
    return found


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return buf.getvalue()


def charts(agg: Aggregates) -> dict[str, bytes]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    ordered = agg.causes.most_common()
    names = [c for c, _ in ordered]
    counts = [n for _, n in ordered]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(names, counts, color="#4c78a8")
    cumulative = [sum(counts[:i + 1]) / max(1, agg.total) * 100 for i in range(len(counts))]
    ax2 = ax.twinx()
    ax2.plot(names, cumulative, "o-", color="#e45756")
    ax2.axhline(80, ls="--", color="grey")
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("накопленная доля, %")
    ax.set_ylabel("жалоб")
    ax.tick_params(axis="x", rotation=45)
    ax.set_title("Парето причин")
    out["pareto"] = _png(fig)

    fig, ax = plt.subplots(figsize=(8, 4))
    legit = [agg.causes[c] - agg.scandalist[c] for c in names]
    scand = [agg.scandalist[c] for c in names]
    ax.bar(names, legit, label="законные", color="#54a24b")
    ax.bar(names, scand, bottom=legit, label="скандальные", color="#f58518")
    ax.legend()
    ax.tick_params(axis="x", rotation=45)
    ax.set_title("Тон по причинам")
    out["tone"] = _png(fig)

    if agg.by_month:
        months = sorted(agg.by_month)
        fig, ax = plt.subplots(figsize=(8, 4))
        for cause in names[:6]:
            ax.plot(months, [agg.by_month[m][cause] for m in months], marker="o", label=cause)
        ax.legend(fontsize=7)
        ax.tick_params(axis="x", rotation=45)
        ax.set_title("Динамика по месяцам (6 главных причин)")
        out["trend"] = _png(fig)
    return out


def customers_section(scored: Path) -> tuple[list[dict], float, float]:
    """Chronic customers and their share of volume vs share of revenue, from the customers file."""
    stem = scored.name.split(".")[0]
    path = scored.with_name(f"{stem}.customers.jsonl")
    if not path.exists():
        return [], 0.0, 0.0
    rows = [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    total = sum(r["complaints"] for r in rows) or 1
    revenue = sum(r.get("revenue_12m") or 0 for r in rows) or 1
    chronic = sorted((r for r in rows if r["chronic"]), key=lambda r: -r["chronic_score"])
    return (chronic, sum(r["complaints"] for r in chronic) / total,
            sum(r.get("revenue_12m") or 0 for r in chronic) / revenue)


def feedback_summary(records) -> dict:
    """Agreement between the model and agents per predicted cause, and the most corrected confusions.
    A correction that leaves the root cause alone counts as agreement on the cause."""
    total, agreed, confusions = Counter(), Counter(), Counter()
    for r in records:
        predicted = (r.get("predicted") or {}).get("root_cause")
        corrected = (r.get("corrected") or {}).get("root_cause")
        if not predicted:
            continue
        total[predicted] += 1
        if corrected in (None, predicted):
            agreed[predicted] += 1
        else:
            confusions[(predicted, corrected)] += 1
    return {"total": total, "agreed": agreed, "confusions": confusions}


def build(scored: Path, input_path: Path | None = None, feedback=None) -> dict:
    agg = Aggregates()
    for row in scored_rows(scored):
        agg.add(row)
    wanted = {line for best in agg.examples.values() for _, line in best}
    texts = example_texts(input_path, wanted)
    chronic, volume_share, revenue_share = customers_section(scored)
    return {"agg": agg, "charts": charts(agg) if agg.total else {}, "texts": texts, "chronic": chronic,
            "chronic_volume_share": volume_share, "chronic_revenue_share": revenue_share,
            "feedback": feedback_summary(feedback or [])}


SECTIONS = ("Распределение причин", "Динамика", "Парето причин", "Законные и скандальные по причинам",
            "Частые сигналы", "Хронические заявители", "Примеры жалоб по причинам", "Исправления агентов")


def _tables(data: dict) -> dict[str, list[list]]:
    agg = data["agg"]
    config = load_config()
    causes = [c for c in config.root_causes if agg.causes[c]]
    share = lambda n: f"{n / max(1, agg.total):.1%}"  # noqa: E731
    return {
        "causes": [["причина", "жалоб", "доля"]] + [[c, agg.causes[c], share(agg.causes[c])] for c, _ in agg.causes.most_common()],
        "tone": [["причина", "законные", "скандальные", "доля скандальных"]] +
                [[c, agg.causes[c] - agg.scandalist[c], agg.scandalist[c], f"{agg.scandalist[c] / agg.causes[c]:.0%}"] for c in causes],
        "signals": [["сигнал", "срабатываний"]] + [[s, n] for s, n in agg.signals.most_common(12)],
        "agreement": [["причина по модели", "исправлений", "согласие агентов"]] +
                     [[c, n, f"{data['feedback']['agreed'][c] / n:.0%}"] for c, n in data["feedback"]["total"].most_common()],
        "confusions": [["модель сказала", "агент исправил на", "раз"]] +
                      [[a, b, n] for (a, b), n in data["feedback"]["confusions"].most_common(10)],
        "chronic": [["клиент", "жалоб", "за 90 дней", "доля скандальных", "выручка 12 мес.", "причины"]] +
                   [[r["customer_id"], r["complaints"], r["complaints_90d"], f"{r['scandalist_share']:.0%}",
                     r.get("revenue_12m") or "—", "; ".join(r["reasons"])] for r in data["chronic"][:50]],
    }


def to_html(data: dict, title: str) -> str:
    t = _tables(data)
    agg = data["agg"]
    esc = lambda v: html.escape(str(v))  # noqa: E731

    def table(rows):
        head = "".join(f"<th>{esc(h)}</th>" for h in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in rows[1:])
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def img(name, alt):
        png = data["charts"].get(name)
        return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">' if png else \
            "<p>Нет дат в файле: динамику построить не из чего.</p>"

    examples = []
    for cause, best in agg.examples.items():
        items = "".join(f"<li>{esc(data['texts'].get(line, f'строка {line} (текст: укажите --input)'))}</li>"
                        for _, line in best)
        examples.append(f"<h3>{esc(cause)}</h3><ul>{items}</ul>")
    s = SECTIONS
    return f"""<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}img{{max-width:100%}}</style></head><body>
<h1>{esc(title)}</h1><p>Жалоб: {agg.total}.</p>
<h2 id="causes">{s[0]}</h2>{table(t['causes'])}
<h2 id="trend">{s[1]}</h2>{img('trend', s[1])}
<h2 id="pareto">{s[2]}</h2>{img('pareto', s[2])}
<h2 id="tone">{s[3]}</h2>{img('tone', s[3])}{table(t['tone'])}
<h2 id="signals">{s[4]}</h2>{table(t['signals'])}
<h2 id="chronic">{s[5]}</h2><p>Хронических клиентов: {len(data['chronic'])}; их доля в объёме жалоб
{data['chronic_volume_share']:.1%}, в выручке {data['chronic_revenue_share']:.1%}.</p>{table(t['chronic'])}
<h2 id="examples">{s[6]}</h2>{''.join(examples)}
<h2 id="feedback">{s[7]}</h2>{table(t['agreement']) + table(t['confusions']) if data['feedback']['total'] else
    '<p>Исправлений нет (или отчёт построен без --feedback).</p>'}
</body></html>"""


def to_markdown(data: dict, title: str, out: Path) -> str:
    t = _tables(data)
    for name, png in data["charts"].items():
        out.with_name(f"{out.stem}.{name}.png").write_bytes(png)

    def table(rows):
        lines = ["| " + " | ".join(map(str, rows[0])) + " |", "|" + "---|" * len(rows[0])]
        return "\n".join(lines + ["| " + " | ".join(str(v).replace("|", "/") for v in r) + " |" for r in rows[1:]])

    def img(name):
        return f"![{name}]({out.stem}.{name}.png)" if name in data["charts"] else "_нет данных_"

    s, agg = SECTIONS, data["agg"]
    examples = "\n".join(f"### {c}\n" + "\n".join(f"- {data['texts'].get(l, f'строка {l}')[:400]}" for _, l in best)
                         for c, best in agg.examples.items())
    return (f"# {title}\n\nЖалоб: {agg.total}.\n\n## {s[0]}\n\n{table(t['causes'])}\n\n## {s[1]}\n\n{img('trend')}\n\n"
            f"## {s[2]}\n\n{img('pareto')}\n\n## {s[3]}\n\n{img('tone')}\n\n{table(t['tone'])}\n\n## {s[4]}\n\n"
            f"{table(t['signals'])}\n\n## {s[5]}\n\nДоля в объёме жалоб {data['chronic_volume_share']:.1%}, в выручке "
            f"{data['chronic_revenue_share']:.1%}.\n\n{table(t['chronic'])}\n\n## {s[6]}\n\n{examples}\n\n## {s[7]}\n\n"
            f"{table(t['agreement'])}\n\n{table(t['confusions'])}\n")


def write_report(scored: Path, out: Path, fmt: str = "html", input_path: Path | None = None, feedback=None) -> Path:
    """`feedback`: agents' correction records (FeedbackStore.feedback()), for the agreement section."""
    data = build(Path(scored), Path(input_path) if input_path else None, feedback)
    title = f"Отчёт по жалобам: {Path(scored).name}"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_html(data, title) if fmt == "html" else to_markdown(data, title, out), encoding="utf-8")
    return out
