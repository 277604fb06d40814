"""History computed from a small archive with known answers, and the report with every section."""
import json
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from triage.batch import score_file
from triage.report import SECTIONS, write_report

SCANDAL = "Все вы тупые бездари и воры, ненавижу вашу контору, требую компенсацию 100 000 рублей за моральный вред!!!"
LEGIT = "Заказ №{n} не доставили в срок, курьер перенёс доставку третий раз"


@pytest.fixture(scope="module")
def scored(tmp_path_factory, classifier):
    """c1: five scandalist complaints in 90 days (chronic); c2: five legitimate repeats (not chronic);
    c3: one complaint with a big revenue."""
    assert classifier.classify(SCANDAL)["tone"] == "scandalist"
    assert classifier.classify(LEGIT.format(n=1))["tone"] == "legitimate"
    d = tmp_path_factory.mktemp("report")
    rows = [{"id": f"a{i}", "customer_id": "c1", "created_at": f"2026-0{1 + i % 3}-1{i}", "revenue_12m": 3000,
             "text": SCANDAL} for i in range(5)]
    rows += [{"id": f"b{i}", "customer_id": "c2", "created_at": f"2026-02-0{i + 1}", "revenue_12m": 5000,
              "text": LEGIT.format(n=700100 + i)} for i in range(5)]
    rows += [{"id": "c0", "customer_id": "c3", "created_at": "2026-03-01", "revenue_12m": 9_000_000,
              "text": "Списали деньги дважды за одну поставку, верните 45 000 руб"}]
    src = d / "archive.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    score_file(src, d / "scored.jsonl", progress=False)
    return d


def test_history_from_the_archive(scored):
    customers = {c["customer_id"]: c for c in map(json.loads, (scored / "scored.customers.jsonl").read_text().splitlines())}
    assert customers["c1"]["complaints"] == 5 and customers["c1"]["scandalist_share"] == 1.0
    assert customers["c1"]["chronic"] is True
    assert customers["c2"]["complaints_90d"] == 5 and customers["c2"]["scandalist_share"] == 0.0
    assert customers["c2"]["chronic"] is False  # legitimate repeats never make a customer chronic
    assert customers["c3"]["chronic"] is False
    rows = [json.loads(l) for l in (scored / "scored.jsonl").read_text().splitlines()]
    big = next(r for r in rows if r["id"] == "c0")
    assert big["route"]["priority"] == "P1" and "churn_risk" in big["route"]["flags"]  # top-decile revenue


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.h2, self.images, self._in_h2 = [], [], False

    def handle_starttag(self, tag, attrs):
        self._in_h2 = tag == "h2"
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data.strip())
            self._in_h2 = False


def test_html_report_has_every_section_and_embedded_images(scored):
    out = write_report(scored / "scored.jsonl", scored / "report.html", "html", scored / "archive.jsonl")
    page = out.read_text(encoding="utf-8")
    parser = Collector()
    parser.feed(page)
    assert parser.h2 == list(SECTIONS)
    assert len(parser.images) == 3 and all(src.startswith("data:image/png;base64,") for src in parser.images)
    assert "c1" in page and "Все вы тупые" in page  # chronic customer listed, example quoted
    assert "http://" not in page and "https://" not in page  # opens offline


def test_markdown_report(scored):
    out = write_report(scored / "scored.jsonl", scored / "report.md", "md")
    text = out.read_text(encoding="utf-8")
    assert all(f"## {s}" in text for s in SECTIONS)
    assert (scored / "report.pareto.png").exists()


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium is not installed")
def test_report_renders_in_headless_chromium(scored, tmp_path):
    out = write_report(scored / "scored.jsonl", tmp_path / "report.html", "html")
    shot = tmp_path / "report.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'ud'}",
                    f"--screenshot={shot}", "--window-size=1000,2000", out.as_uri()], check=True, timeout=60,
                   capture_output=True)
    assert shot.stat().st_size > 10_000


def test_feedback_section_counts_agreement_and_confusions(scored):
    records = [{"predicted": {"root_cause": "delivery"}, "corrected": {"tone": "legitimate"}},
               {"predicted": {"root_cause": "delivery"}, "corrected": {"root_cause": "refund"}},
               {"predicted": {"root_cause": "delivery"}, "corrected": {"root_cause": "refund"}},
               {"predicted": {"root_cause": "billing"}, "corrected": {"root_cause": "billing"}}]
    page = write_report(scored / "scored.jsonl", scored / "fb.html", "html", feedback=records).read_text(encoding="utf-8")
    section = page.split('id="feedback"')[1]
    assert "<td>delivery</td><td>3</td><td>33%</td>" in section and "<td>billing</td><td>1</td><td>100%</td>" in section
    assert "<td>delivery</td><td>refund</td><td>2</td>" in section
