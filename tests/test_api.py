"""The real app over HTTP (TestClient) with the real model."""
import json

import pytest
from fastapi.testclient import TestClient

from triage.api import Settings, create_app

CAUSES = {"delivery", "product_quality", "staff_behavior", "billing", "refund", "support_communication",
          "loyalty_promo", "digital_service", "privacy_spam", "other"}


def check_result(result: dict, text: str) -> None:
    assert result["root_cause"] in CAUSES
    assert set(result["root_cause_scores"]) == CAUSES
    assert abs(sum(result["root_cause_scores"].values()) - 1) < 1e-4
    assert result["root_cause"] == max(result["root_cause_scores"], key=result["root_cause_scores"].get)
    assert result["root_cause"] not in result["secondary_causes"]
    assert result["tone"] == ("scandalist" if result["tone_score"] >= 0.5 else "legitimate")
    assert 0 <= result["tone_score"] <= 1
    for s in result["signals"]:
        assert text[s["span"][0]:s["span"][1]] == s["text"]
    route = result["route"]
    assert route["priority"] in {"P1", "P2", "P3", "P4"} and route["queue"] and route["action"] and route["reasons"]
    assert isinstance(route["sla_hours"], int)
    assert result["model_version"]


def test_health_and_model(client):
    assert client.get("/health").json()["status"] == "ok"
    info = client.get("/model").json()
    assert info["labels"]["root_cause"] == sorted(CAUSES, key=list(info["labels"]["root_cause"]).index)
    assert set(info["labels"]["root_cause"]) == CAUSES
    assert "holdout" in info["metrics"]
    assert client.get("/openapi.json").status_code == 200


def test_classify_returns_the_contract(client):
    text = "Заказ №5512873 обещали привезти 12.03, курьер так и не приехал. Верните 2 300 руб за доставку!"
    r = client.post("/classify", json={"text": text, "customer": {"id": "c1", "complaints_90d": 1, "revenue_12m": 1500.0}})
    assert r.status_code == 200 and r.headers["x-request-id"]
    body = r.json()
    check_result(body, text)
    assert {s["name"] for s in body["signals"]} >= {"order_number", "amount"}
    assert body["language"] == "ru"


def test_batch_keeps_input_order_and_ids(client, classifier):
    texts = ["Приложение вылетает при оплате", "Списали абонентскую плату дважды за март",
             "Курьер нахамил и бросил пакет у двери", "Все вы тупые бездари, ненавижу вашу контору"]
    items = [{"id": f"x{i}", "text": t} for i, t in enumerate(texts)]
    r = client.post("/classify/batch", json={"items": items})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["id"] for x in results] == ["x0", "x1", "x2", "x3"]
    for res, t in zip(results, texts):
        check_result(res, t)
        single = classifier.classify(t)
        assert res["root_cause_scores"] == single["root_cause_scores"]


@pytest.mark.parametrize("body,status,field", [
    ({"text": ""}, 422, "text"),
    ({"text": "   "}, 422, "text"),
    ({"text": 42}, 422, "text"),
    ({}, 422, "text"),
    ({"text": "ok", "colour": "red"}, 422, "colour"),
    ({"text": "ok", "customer": {"complaints_90d": "three"}}, 422, "complaints_90d"),
    ({"text": "ok", "customer": {"revenue_12m": -5}}, 422, "revenue_12m"),
    ({"text": "я" * 20001}, 413, "text"),
])
def test_bad_requests_get_clear_4xx(client, body, status, field):
    r = client.post("/classify", json=body)
    assert r.status_code == status
    assert field in str(r.json()["detail"])


def test_unpaired_surrogate_escapes(client):
    """Half of an emoji escaped in JSON: mended in a text (the answer is still UTF-8), refused with a
    422 naming the field in an id; the 422 itself, which quotes the input, must not turn into a 500."""
    def post(path, body):
        return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})

    text = "\ud83d Тупой курьер опоздал на три часа"
    r = post("/classify", {"text": text})
    insult = r.json()["signals"][0]
    assert r.status_code == 200 and text.replace("\ud83d", "\ufffd")[slice(*insult["span"])] == insult["text"]
    for path, body, field in [("/classify", {"text": text, "customer": {"id": "c\udc00"}}, "customer"),
                              ("/classify/batch", {"items": [{"text": text, "id": "x\ud800"}]}, "items")]:
        r = post(path, body)
        assert r.status_code == 422, r.text
        assert any(e["loc"][:2] == ["body", field] and "id" in e["loc"] for e in r.json()["detail"])


def test_long_text_is_truncated_only_on_request(client):
    r = client.post("/classify", json={"text": "Плохая связь. " * 2000, "truncate": True})
    assert r.status_code == 200 and r.json()["truncated"] is True


def test_batch_limit(client, monkeypatch, model_dir):
    monkeypatch.setenv("TRIAGE_MAX_BATCH_ITEMS", "3")
    app = create_app(Settings(model_dir=str(model_dir)))
    with TestClient(app) as c:
        r = c.post("/classify/batch", json={"items": [{"text": "нет связи"}] * 4})
        assert r.status_code == 413 and "items" in r.json()["detail"]
        assert c.post("/classify/batch", json={"items": [{"text": "нет связи"}] * 3}).status_code == 200


@pytest.mark.parametrize("text,language", [
    ("The parcel never arrived and nobody answers", "en"),
    ("Тапсырыс әлі келген жоқ, қашан жеткізесіздер?", "kk"),
    ("😡😡😡 12345", "und"),
])
def test_non_russian_text_gets_language_and_low_confidence(client, text, language):
    body = client.post("/classify", json={"text": text}).json()
    assert body["language"] == language and body["low_confidence"] is True


def test_bearer_token_guards_everything_but_health(model_dir, classifier):
    app = create_app(Settings(model_dir=str(model_dir), api_token="s3cret"), classifier=classifier)
    with TestClient(app) as c:
        assert c.get("/health").status_code == 200
        assert c.post("/classify", json={"text": "нет связи"}).status_code == 401
        assert c.post("/classify", json={"text": "нет связи"}, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.post("/classify", json={"text": "нет связи"}, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/model").status_code == 401


def test_health_is_503_until_the_model_is_loaded(model_dir):
    app = create_app(Settings(model_dir=str(model_dir)))
    c = TestClient(app)  # no context manager: lifespan has not run, so the model is not loaded
    assert c.get("/health").status_code == 503
    assert c.post("/classify", json={"text": "нет связи"}).status_code == 503


def test_request_id_is_echoed(client):
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"


def test_logs_carry_no_complaint_text(client, caplog):
    text = "Меня зовут Анна Петрова, телефон +7 912 345-67-89, курьер не привёз заказ"
    with caplog.at_level("INFO", logger="triage.api"):
        client.post("/classify", json={"text": text})
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "/classify" in logged
    for piece in ("Анна", "Петрова", "912", "курьер"):
        assert piece not in logged


@pytest.mark.parametrize("text,language", [
    ("Курьер опоздал", "ru"), ("Кур'єр запізнився, посилка ще не прийшла", "uk"), ("", "und"), ("Order 12345 is late", "en"),
    ("Тапсырыс әлі келмеді, қызмет өте нашар", "kk"), ("😡😡😡 !!! 123", "und"), ("ЗАКАЗ НЕ ПРИШЁЛ, İade istiyorum", "ru"),
])
def test_language_table(text, language):
    """The whole-text count and the pipeline's per-token counts give the same answer."""
    from triage.language import detect_language
    from triage.normalize import normalize

    assert detect_language(text) == language
    assert detect_language(text, script=normalize(text).script) == language


def test_a_bug_answers_500_with_the_request_id_and_logs_no_text(model_dir, classifier, monkeypatch, caplog):
    app = create_app(Settings(model_dir=str(model_dir)), classifier=classifier)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as c:
        monkeypatch.setattr(classifier, "classify", broken)
        with caplog.at_level("INFO", logger="triage.api"):
            r = c.post("/classify", json={"text": "Анна Петрова: курьер не приехал"}, headers={"X-Request-ID": "r-500"})
    assert r.status_code == 500 and r.json() == {"detail": "internal error", "request_id": "r-500"}
    assert r.headers["x-request-id"] == "r-500"
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert '"status": 500' in logged and "Петрова" not in logged


def test_body_over_the_limit_is_413_before_parsing(model_dir, classifier):
    app = create_app(Settings(model_dir=str(model_dir), max_body_bytes=1000), classifier=classifier)
    with TestClient(app) as c:
        r = c.post("/classify", json={"text": "а" * 2000})
    assert r.status_code == 413 and "limit of 1000 bytes" in r.json()["detail"] and r.headers["x-request-id"]
