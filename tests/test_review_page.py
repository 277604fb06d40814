"""The review page in a real headless Chromium (Debian's, driven by Python Playwright) against uvicorn
serving the real app on 127.0.0.1: classify, see the evidence highlighted, correct, find the
correction in `triage feedback export`. A screenshot goes to tests/artifacts/ (gitignored)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import pytest
from conftest_feedback import ARTIFACTS, LiveServer, triage_cli, with_review_record

from triage.api import Settings, create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]
# An emoji before the evidence: JavaScript counts it as two UTF-16 units, Python as one character,
# so the highlight is right only if the page cuts the text by code points.
COMPLAINT = "🙁 Заказ №5512873 обещали привезти 12.03, курьер так и не приехал. Верните 2 300 руб за доставку!"
QUEUED = "Ну такое, вроде привезли, но не то, и деньги списали дважды, а бонусы не пришли"


@pytest.fixture()
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("review page test skipped: no chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("review page test skipped: Python playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def serve(model_dir, classifier, tmp_path, monkeypatch, **settings):
    db = f"sqlite:///{tmp_path / 'feedback.db'}"
    monkeypatch.setenv("TRIAGE_DB", db)
    app = create_app(Settings(model_dir=str(model_dir), **settings), classifier=with_review_record(classifier, "all"))
    live = LiveServer(app)
    live.db = db
    return live


@pytest.fixture()
def server(model_dir, classifier, tmp_path, monkeypatch):
    with serve(model_dir, classifier, tmp_path, monkeypatch) as live:
        yield live


def test_review_page_classify_highlight_correct_export(browser, server, classifier, tmp_path):
    from playwright.sync_api import expect

    # Something in the queue, as if a support tool had scored it through the API.
    assert httpx.post(f"{server.url}/classify/batch", json={"items": [{"id": "T-77", "text": QUEUED}]}).status_code == 200
    expected = classifier.classify(COMPLAINT)
    order_number = next(s for s in expected["signals"] if s["name"] == "order_number")

    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/review")
    assert page.title().startswith("Проверка жалоб")

    # The queue: open the queued complaint with the keyboard (Alt+Q, Enter).
    page.locator("#queue button").first.wait_for()
    assert "T-77" in page.locator("#queue").inner_text()
    page.keyboard.press("Alt+q")
    page.keyboard.press("Enter")
    expect(page.locator("#complaint")).to_have_value(QUEUED)
    expect(page.locator("#result")).to_be_visible()

    # Paste a complaint and classify it with Ctrl+Enter.
    page.fill("#complaint", COMPLAINT)
    page.focus("#complaint")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#status")).to_have_text(re.compile("^Готово"))
    assert page.locator("#cause").get_attribute("data-code") == expected["root_cause"]
    assert page.locator("#tone").get_attribute("data-code") == expected["tone"]
    assert page.locator("#scores li").count() == len(expected["root_cause_scores"])
    mark = page.locator('mark[data-signals="order_number"]')
    assert mark.inner_text() == order_number["text"] == COMPLAINT[slice(*order_number["span"])]
    assert page.locator('.signal-name[data-signal="order_number"]').inner_text() == "номер заказа"
    assert page.locator(".signal-name").count() == len(expected["signals"])
    for reason in expected["route"]["reasons"]:
        assert reason in page.locator("#reasons").inner_text()

    # Correct the root cause and the queue, send with Ctrl+S.
    new_cause = "billing" if expected["root_cause"] != "billing" else "refund"
    page.select_option("#fix-cause", new_cause)
    page.select_option("#fix-queue", "finance")
    page.fill("#agent", "Анна К.")
    page.fill("#comment", "это про списание")
    page.keyboard.press("Control+s")
    expect(page.locator("#status")).to_have_text(re.compile("^Исправление сохранено"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review_page.png"), full_page=True)

    out = tmp_path / "export.jsonl"
    r = triage_cli("feedback", "export", str(out), env={"TRIAGE_DB": server.db})
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 1
    record = records[0]
    assert record["text"] == COMPLAINT and record["agent"] == "Анна К." and record["comment"] == "это про списание"
    # The page sends only what the agent changed.
    assert record["corrected"] == {"root_cause": new_cause,
                                   **({"queue": "finance"} if expected["route"]["queue"] != "finance" else {})}
    assert record["predicted"]["root_cause"] == expected["root_cause"]
    assert record["model_version"] == expected["model_version"]

    assert errors == []
    assert all(url.startswith((server.url, "data:")) for url in requests), requests  # nothing leaves the machine


def test_review_page_asks_for_the_api_token(browser, model_dir, classifier, tmp_path, monkeypatch):
    from playwright.sync_api import expect

    with serve(model_dir, classifier, tmp_path, monkeypatch, api_token="s3cret") as live:
        page = browser.new_page()
        page.goto(f"{live.url}/")
        expect(page.locator("#token-dialog")).to_be_visible()  # the first API call answered 401
        page.fill("#token-input", "s3cret")
        page.click("#token-dialog button[value=ok]")
        expect(page.locator("#model-version")).to_contain_text(classifier.version)
        page.fill("#complaint", COMPLAINT)
        page.click("#classify-form button[type=submit]")
        expect(page.locator("#status")).to_have_text(re.compile("^Готово"))
        expect(page.locator("#result")).to_be_visible()
