"""The feedback loop with real parts: the app over HTTP (TestClient) on an SQLite file and on a real
PostgreSQL server, the `triage feedback` and `triage train --feedback` commands as subprocesses, and a
retraining run that must learn agents' corrections without losing held-out quality."""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest_feedback import app_client, triage_cli, with_review_record
from conftest_feedback import db_url, postgres_server, sqlite_url  # noqa: F401 - fixtures, used by name
from sqlalchemy import text as sql
from sqlalchemy import update

from training.corpus import Corpus, Example, load_corpus
from training.feedback_merge import feedback_examples, merge_feedback, text_key
from triage.config import load_config
from triage.errors import StoreError
from triage.feedback import (FeedbackStore, ReviewItem, database_url, default_database_url, engine_url, meta_table,
                             parse_age)
from triage.pipeline import Classifier
from triage.review import confidence

COMPLAINT = "Заказ №5512873 обещали привезти 12.03, курьер так и не приехал. Верните 2 300 руб за доставку!"
TEXTS = ["Приложение вылетает при оплате", "Списали абонентскую плату дважды за март",
         "Курьер нахамил и бросил пакет у двери", "Все вы тупые бездари, ненавижу вашу контору",
         "Ну такое, вроде привезли, но не то, и деньги списали дважды, а бонусы не пришли"]

# Complaints written for this test (none is in the corpus), each with the root cause an agent would
# set. They mix two causes in one text, and the baseline model tends to pick the wrong one.
CORRECTIONS = [
    ("Курьер опоздал на час, это ладно, но в чеке доставка посчитана как экспресс за 700 вместо обычной за 300.", "billing"),
    ("Заказ привезли вовремя, но в приложении висит неоплаченный счёт за него, хотя я платил картой при получении.", "billing"),
    ("Отказался от посылки при курьере, он увёз её обратно, но возврат предоплаты до сих пор не оформлен.", "refund"),
    ("Курьер, передавая пакет, обозвал меня и кинул коробку на землю.", "staff_behavior"),
    ("В пункте выдачи сотрудник зачитал вслух при всей очереди мой телефон и что я заказал.", "privacy_spam"),
    ("Музыка в зале играет так громко, что невозможно поговорить с консультантом.", "other"),
    ("Телевизор привезли с разбитой матрицей, коробка была целая, значит брак с завода.", "product_quality"),
    ("Пельмени, что привёз курьер, внутри были сырые и склеенные в ком.", "product_quality"),
    ("Посылку вернули отправителю, не дождавшись конца срока хранения, а в приложении писали «ожидает».", "delivery"),
    ("Возврат оформили быстро, но курьер, забиравший товар, был пьян и ругался матом.", "staff_behavior"),
    ("Оплатил подписку на бесплатную доставку, а доставку всё равно посчитали платной.", "billing"),
    ("Мои отзывы о товаре удаляют с сайта, если они негативные.", "other"),
    ("Приложение списывает деньги с карты, даже когда заказ отменён на этапе сборки.", "billing"),
    ("Привезли детскую кроватку, а в коробке не хватает половины болтов, собрать нельзя.", "product_quality"),
    ("Из доставки приехали яйца, и половина внутри с кровью и запахом.", "product_quality"),
    ("Привезли новый диван, а у него ножка кривая и обивка уже с затяжками.", "product_quality"),
    ("Доставка была быстрой, но рыба в заказе оказалась с душком, пришлось выбросить.", "product_quality"),
    ("Привезли ноутбук, на экране битые пиксели и полоса посередине.", "product_quality"),
    ("Курьер при вручении посылки назвал меня бестолковой бабкой, когда я искала очки.", "staff_behavior"),
    ("Водитель, который привёз мебель, всю разгрузку матерился и плевал на пол в подъезде.", "staff_behavior"),
    ("Курьер пришёл в грязной куртке, хамил и отпускал сальные шутки про мою жену.", "staff_behavior"),
    ("Грузчики, доставившие холодильник, издевательски передразнивали мою речь.", "staff_behavior"),
    ("Курьер позвонил в домофон и, когда я не успела ответить, написал мне в мессенджер оскорбление.", "staff_behavior"),
    ("Курьер вручил посылку и обозвал меня жмотом за то, что я не дал на чай.", "staff_behavior"),
    ("Грузчик при доставке кровати толкнул мою мать и даже не извинился.", "staff_behavior"),
    ("Курьер не дал сдачу с пятитысячной и сказал, что терминал не работает, пришлось переплатить.", "billing"),
    ("Доставку оплатил онлайн, а курьер на пороге потребовал заплатить за неё ещё раз наличными.", "billing"),
    ("Курьер сказал, что тариф доставки вырос, и потребовал доплатить 300 рублей на месте.", "billing"),
    ("Не выкупил заказ в пункте выдачи, посылка ушла обратно, предоплату не возвращают уже 20 дней.", "refund"),
    ("Часть заказа не привезли, в приложении позицию отменили, но возврат 560 рублей не пришёл.", "refund"),
    ("Курьер не довёз заказ, его отменили, но 2 100 рублей так и висят непоступившими.", "refund"),
    ("Через приложение подключилась платная подписка, о которой я не просил, списывают каждый месяц.", "billing"),
    ("Консультант без спроса сфотографировал меня на телефон и сказал, что для внутреннего отчёта.", "privacy_spam"),
    ("Менеджер по телефону назвал мне адрес и телефон другого покупателя с такой же фамилией.", "privacy_spam"),
    ("Курьер оставил на двери бумажку с моим именем, телефоном и составом заказа, все соседи видели.", "privacy_spam"),
    ("В магазине не работает туалет, уже месяц висит табличка.", "other"),
    ("Кондиционер в зале выключен, внутри под тридцать градусов.", "other"),
    ("Купон на бесплатную доставку из рассылки не сработал при оформлении заказа.", "loyalty_promo"),
    ("Курьер привёз блендер, а у него нож болтается и при включении летят искры.", "product_quality"),
    ("Привезли заказ из пекарни — батон внутри с плесенью, хотя испечён якобы сегодня.", "product_quality"),
]


def correction(result: dict, complaint: str, **overrides) -> dict:
    body = {"id": "t-1", "text": complaint, "model_version": result["model_version"], "predicted": result,
            "corrected": {"root_cause": "billing", "queue": "finance"}, "agent": "Анна К.",
            "comment": "списание, а не доставка"}
    return {**body, **overrides}


# ---- HTTP round trip, SQLite and PostgreSQL ------------------------------------------------------

def test_feedback_round_trip(db_url, model_dir, classifier, monkeypatch):
    with app_client(db_url, model_dir, classifier, monkeypatch) as client:
        result = client.post("/classify", json={"text": COMPLAINT}).json()
        first = client.post("/feedback", json=correction(result, COMPLAINT))
        assert first.status_code == 201, first.text
        stored = first.json()
        assert isinstance(stored["feedback_id"], int)
        second = client.post("/feedback", json=correction(result, COMPLAINT, id=42, comment=None,
                                                          corrected={"tone": "scandalist"})).json()

        everything = client.get("/feedback").json()["feedback"]
        assert [r["feedback_id"] for r in everything] == [stored["feedback_id"], second["feedback_id"]]
        record = everything[0]
        assert record["text"] == COMPLAINT and record["agent"] == "Анна К." and record["id"] == "t-1"
        assert record["corrected"] == {"root_cause": "billing", "queue": "finance"}
        assert record["predicted"]["root_cause"] == result["root_cause"]
        assert record["predicted"]["route"] == {"queue": result["route"]["queue"]}
        assert "signals" not in record["predicted"]  # stored once, as the text
        assert record["model_version"] == result["model_version"]
        assert everything[1]["id"] == "42" and everything[1]["comment"] is None

        since = client.get("/feedback", params={"since": second["created_at"]}).json()["feedback"]
        assert [r["feedback_id"] for r in since] == [second["feedback_id"]]
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        assert client.get("/feedback", params={"since": tomorrow}).json()["feedback"] == []
        assert len(client.get("/feedback", params={"limit": 1}).json()["feedback"]) == 1
        # PostgreSQL text cannot hold U+0000: a 422, never a 500 from the database.
        assert client.post("/feedback", json=correction(result, COMPLAINT + "\x00")).status_code == 422


def test_unpaired_surrogate_escapes_reach_the_store_mended(db_url, model_dir, classifier, monkeypatch):
    """Half of an emoji escaped in JSON: the review queue and the feedback store keep the text mended
    (U+FFFD), as it was classified, instead of failing in the database (PostgreSQL refuses it)."""
    text, mended = "\ud83d " + COMPLAINT, "\ufffd " + COMPLAINT
    with app_client(db_url, model_dir, with_review_record(classifier, "all"), monkeypatch) as client:
        def post(path, body):
            return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})

        result = post("/classify", {"text": text}).json()
        assert [q["preview"] for q in client.get("/review/queue").json()["items"]] == [mended[:140]]
        assert post("/feedback", correction(result, text)).status_code == 201
        assert client.get("/feedback").json()["feedback"][0]["text"] == mended


def test_sqlite_runs_in_wal_mode(sqlite_url):
    with FeedbackStore.open(sqlite_url) as store, store.engine.connect() as conn:
        assert conn.execute(sql("PRAGMA journal_mode")).scalar() == "wal"


# ---- validation and limits -----------------------------------------------------------------------

@pytest.mark.parametrize("change,status,field", [
    ({"corrected": {"root_cause": "teleport"}}, 422, "root_cause"),
    ({"corrected": {"tone": "angry"}}, 422, "tone"),
    ({"corrected": {"queue": "mars"}}, 422, "queue"),
    ({"corrected": {}}, 422, "corrected"),
    ({"corrected": {"priority": "P1"}}, 422, "priority"),
    ({"corrected": {"root_cause": 3}}, 422, "root_cause"),
    ({"predicted": {"root_cause": "teleport", "tone": "legitimate"}}, 422, "predicted"),
    ({"predicted": None}, 422, "predicted"),
    ({"text": ""}, 422, "text"),
    ({"text": 42}, 422, "text"),
    ({"agent": "  "}, 422, "agent"),
    ({"agent": None}, 422, "agent"),
    ({"id": 1.5}, 422, "id"),
    ({"comment": "я" * 2001}, 422, "comment"),
    ({"colour": "red"}, 422, "colour"),
    ({"text": "Заказ\x00 не привезли"}, 422, "NUL"),
    ({"agent": "Анна\x00"}, 422, "agent"),
    ({"text": "я" * 20001}, 413, "text"),
])
def test_bad_feedback_gets_a_clear_4xx(sqlite_url, model_dir, classifier, monkeypatch, change, status, field):
    with app_client(sqlite_url, model_dir, classifier, monkeypatch) as client:
        result = client.post("/classify", json={"text": COMPLAINT}).json()
        r = client.post("/feedback", json=correction(result, COMPLAINT, **change))
        assert r.status_code == status, r.text
        assert field in json.dumps(r.json()["detail"], ensure_ascii=False)
        assert client.get("/feedback").json()["feedback"] == []


@pytest.mark.parametrize("params,field", [({"since": "вчера"}, "since"), ({"since": "0001-01-01T00:00+14:00"}, "since"),
                                          ({"limit": 0}, "limit"), ({"limit": 10001}, "limit")])
def test_bad_feedback_query_is_422(sqlite_url, model_dir, classifier, monkeypatch, params, field):
    with app_client(sqlite_url, model_dir, classifier, monkeypatch) as client:
        r = client.get("/feedback", params=params)
        assert r.status_code == 422 and field in str(r.json()["detail"])


def test_feedback_takes_the_same_bearer_token(sqlite_url, model_dir, classifier, monkeypatch):
    with app_client(sqlite_url, model_dir, classifier, monkeypatch, api_token="s3cret") as client:
        auth = {"Authorization": "Bearer s3cret"}
        result = client.post("/classify", json={"text": COMPLAINT}, headers=auth).json()
        for method, path in [("post", "/feedback"), ("get", "/feedback"), ("get", "/review/queue"),
                             ("get", "/review/options"), ("get", "/review/items/x"), ("delete", "/review/queue/x")]:
            kwargs = {"json": correction(result, COMPLAINT)} if method == "post" else {}
            assert getattr(client, method)(path, **kwargs).status_code == 401, path
        assert client.post("/feedback", json=correction(result, COMPLAINT), headers=auth).status_code == 201
        assert len(client.get("/feedback", headers=auth).json()["feedback"]) == 1
        # The page holds no data and a browser cannot send a bearer token to open it: it asks on 401.
        for path in ["/", "/review", "/review/assets/review.js", "/review/assets/review.css"]:
            assert client.get(path).status_code == 200, path
        assert client.get("/review/assets/nothing.js").status_code == 404


def test_logs_never_carry_complaint_text(sqlite_url, model_dir, classifier, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    with app_client(sqlite_url, model_dir, with_review_record(classifier, "all"), monkeypatch) as client:
        result = client.post("/classify", json={"text": COMPLAINT}).json()
        assert client.post("/feedback", json=correction(result, COMPLAINT)).status_code == 201
        # A failing queue write must neither fail the answer nor put the text in the log
        # (database errors quote their parameters).
        def broken_write(*args, **kwargs):
            raise RuntimeError(f"INSERT failed for {COMPLAINT}")

        monkeypatch.setattr(client.app.state.feedback_store, "record_review", broken_write)
        assert client.post("/classify", json={"text": COMPLAINT}).status_code == 200
    assert "review_record_failed" in caplog.text
    assert "5512873" not in caplog.text and "Анна" not in caplog.text


# ---- review queue --------------------------------------------------------------------------------

def test_review_queue_least_confident_first(db_url, model_dir, classifier, monkeypatch):
    clf = with_review_record(classifier, "all")
    with app_client(db_url, model_dir, clf, monkeypatch) as client:
        items = [{"id": f"q{i}", "text": t} for i, t in enumerate(TEXTS[:-1])] + [{"id": "2026/q4", "text": TEXTS[-1]}]
        results = client.post("/classify/batch", json={"items": items}).json()["results"]
        client.post("/classify", json={"text": TEXTS[0]})  # the same text again: still one entry
        queue = client.get("/review/queue").json()["items"]
        assert len(queue) == len(TEXTS)
        assert [q["confidence"] for q in queue] == sorted(q["confidence"] for q in queue)
        expected = {t: confidence(r, clf.config.scandalist_threshold) for t, r in zip(TEXTS, results)}
        assert sorted(q["confidence"] for q in queue) == sorted(expected.values())
        assert {q["id"] for q in queue} == {"q1", "q2", "q3", "2026/q4", None}
        assert client.get("/review/items/2026/q4").json()["text"] == TEXTS[-1]  # ids may contain slashes

        opened = client.get(f"/review/items/{queue[0]['ref']}").json()
        assert opened["text"] in TEXTS and queue[0]["preview"] == opened["text"][:140]
        assert opened["result"]["root_cause_scores"] == classifier.classify(opened["text"])["root_cause_scores"]
        by_id = client.get("/review/items/q2").json()
        assert by_id["text"] == TEXTS[2] and by_id["id"] == "q2"

        corrected = correction(results[1], TEXTS[1], id="q1", corrected={"root_cause": "billing"})
        assert client.post("/feedback", json=corrected).status_code == 201
        assert client.delete("/review/queue/q3").status_code == 204
        assert client.delete("/review/queue/q3").status_code == 404
        left = {q["id"] for q in client.get("/review/queue").json()["items"]}
        assert left == {"q2", "2026/q4", None}
        missing = client.get("/review/items/nothing-here")
        assert missing.status_code == 404 and "ref" in missing.json()["detail"]
        assert len(client.get("/review/queue", params={"limit": 1}).json()["items"]) == 1


def test_default_queue_keeps_only_low_confidence_results(sqlite_url, model_dir, classifier, monkeypatch):
    assert classifier.config.review_record == "low_confidence"
    with app_client(sqlite_url, model_dir, classifier, monkeypatch) as client:
        items = [{"id": f"c{i}", "text": t} for i, t in enumerate(TEXTS + [COMPLAINT])]
        results = client.post("/classify/batch", json={"items": items}).json()["results"]
        queued = {q["id"] for q in client.get("/review/queue").json()["items"]}
        assert queued == {r["id"] for r in results if r["low_confidence"]}
    with app_client(sqlite_url, model_dir, with_review_record(classifier, "none"), monkeypatch) as client:
        client.post("/classify", json={"text": "Совсем новый текст, которого не было в очереди: привезли не то"})
        assert {q["id"] for q in client.get("/review/queue").json()["items"]} == queued


# ---- CLI: export, purge, schema version ----------------------------------------------------------

def _record(text: str, **kw) -> dict:
    return {"text": text, "model_version": "test", "predicted": {"root_cause": "delivery", "tone": "legitimate"},
            "corrected": {"root_cause": "billing"}, "agent": "a", **kw}


def test_export_and_purge_from_the_command_line(db_url, tmp_path):
    now = datetime.now(UTC)
    with FeedbackStore.open(db_url) as store:
        store.add_feedback(_record("старая жалоба"), now=now - timedelta(days=100))
        store.add_feedback(_record("новая жалоба", id="n1"))
        store.record_review([ReviewItem("старая в очереди", None, "test", "other", "legitimate", 0.1)], keep_days=7,
                            now=now - timedelta(days=100))
    env = {"TRIAGE_DB": db_url}
    out = tmp_path / "feedback.jsonl"
    r = triage_cli("feedback", "export", str(out), env=env)
    assert r.returncode == 0, r.stderr
    assert "2 corrections" in r.stderr
    assert [json.loads(line)["text"] for line in out.read_text(encoding="utf-8").splitlines()] == [
        "старая жалоба", "новая жалоба"]

    r = triage_cli("feedback", "purge", "--older-than", "30d", env=env)
    assert r.returncode == 0, r.stderr
    assert "deleted 1 corrections and 1 queued classifications older than 30d" in r.stderr
    if db_url.startswith("sqlite:///"):  # purged text is overwritten, not left in free pages or the WAL
        files = Path(db_url.removeprefix("sqlite:///")).parent.glob("feedback.db*")
        assert not any("старая".encode() in f.read_bytes() for f in files)
    r = triage_cli("feedback", "purge", env=env)  # the configured retention: 90 days
    assert r.returncode == 0 and "deleted 0 corrections" in r.stderr and "90d" in r.stderr
    triage_cli("feedback", "export", str(out), "--since", (now - timedelta(days=1)).isoformat(), env=env)
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["n1"]


@pytest.mark.parametrize("args,message", [
    (["feedback", "purge", "--older-than", "soon"], "--older-than"),
    (["feedback", "export", "/nonexistent/dir/out.jsonl"], "no such directory"),
    (["feedback", "export", "out.jsonl", "--since", "вчера"], "--since"),
    (["feedback"], "usage"),
])
def test_feedback_command_bad_usage_exits_2(args, message, sqlite_url, tmp_path):
    r = triage_cli(*args, env={"TRIAGE_DB": sqlite_url})
    assert r.returncode == 2 and message in r.stderr


def test_a_newer_schema_is_refused_everywhere(sqlite_url, model_dir, classifier, monkeypatch, tmp_path):
    with FeedbackStore.open(sqlite_url) as store, store.engine.begin() as conn:
        conn.execute(update(meta_table).where(meta_table.c.key == "schema_version").values(value="99"))
    with pytest.raises(StoreError, match="schema version 99.*knows versions up to 1"):
        FeedbackStore.open(sqlite_url)
    with pytest.raises(StoreError, match="schema version 99"), app_client(sqlite_url, model_dir, classifier,
                                                                          monkeypatch):
        pass  # the app refuses to start
    r = triage_cli("feedback", "export", str(tmp_path / "out.jsonl"), env={"TRIAGE_DB": sqlite_url})
    assert r.returncode == 1 and "schema version 99" in r.stderr and r.stderr.count("\n") == 1


def test_database_location_and_urls(tmp_path):
    assert default_database_url({"XDG_DATA_HOME": "/data"}) == "sqlite:////data/triage/feedback.db"
    assert default_database_url({}).endswith("/.local/share/triage/feedback.db")
    assert database_url({"TRIAGE_DB": "postgresql://u@127.0.0.1/x", "XDG_DATA_HOME": "/data"}).startswith("postgresql")
    assert engine_url("postgresql://u@127.0.0.1/x").drivername == "postgresql+psycopg"
    for bad in ["not a url", "mysql://u@127.0.0.1/x"]:
        with pytest.raises(StoreError, match="TRIAGE_DB"):
            FeedbackStore.open(bad)
    # The default file's directory is created on first use, not at import.
    FeedbackStore.open(default_database_url({"XDG_DATA_HOME": str(tmp_path / "xdg")})).close()
    assert (tmp_path / "xdg" / "triage" / "feedback.db").exists()


def test_parse_age():
    assert parse_age("90d") == timedelta(days=90) and parse_age("12h") == timedelta(hours=12)
    assert parse_age("2w") == timedelta(weeks=2)
    for bad in ["", "0d", "90", "d", "-3d", "1.5d"]:
        with pytest.raises(ValueError):
            parse_age(bad)


# ---- merging corrections into training data -------------------------------------------------------

def _example(id_: str, text: str, cause: str, split: str = "train") -> Example:
    return Example(id=id_, text=text, root_cause=cause, tone="legitimate", split=split)


def test_feedback_examples_report_what_they_leave_out():
    records = [
        {"feedback_id": 1, "text": "a", "predicted": {"root_cause": "delivery", "tone": "legitimate"},
         "corrected": {"root_cause": "billing"}},
        {"feedback_id": 2, "text": "b", "predicted": {"root_cause": "delivery", "tone": "legitimate"},
         "corrected": {"tone": "scandalist"}},
        {"feedback_id": 3, "text": "c", "predicted": {"root_cause": "delivery", "tone": "legitimate"},
         "corrected": {"queue": "legal"}},
        {"feedback_id": 4, "text": "d", "predicted": {"root_cause": "delivery", "tone": "legitimate"},
         "corrected": {"root_cause": "teleport"}},
        {"feedback_id": 5, "text": "e", "predicted": {"root_cause": "delivery", "tone": "furious"},
         "corrected": {"root_cause": "billing"}},
        {"feedback_id": 6, "text": " ", "predicted": {"root_cause": "delivery", "tone": "legitimate"},
         "corrected": {"root_cause": "billing"}},
    ]
    examples, problems = feedback_examples(records, load_config())
    assert [(e.id, e.root_cause, e.tone, e.split) for e in examples] == [
        ("feedback-1", "billing", "legitimate", "train"), ("feedback-2", "delivery", "scandalist", "train")]
    assert problems == ["feedback 3: corrects only the queue, no label to learn",
                        "feedback 4: unknown root_cause 'teleport'", "feedback 5: unknown tone 'furious'",
                        "feedback 6: empty text"]


def test_merge_rules():
    corpus = Corpus(examples=[_example("tr1", "Курьер опоздал", "delivery"), _example("tr2", "Брак", "product_quality"),
                              _example("te1", "Списали дважды", "billing", split="test")])
    extra = [_example("feedback-1", " Курьер\nопоздал ", "other"),  # tr1's text but for whitespace: replaces it
             _example("feedback-2", "Списали дважды", "refund"),     # a test-split text: dropped
             _example("feedback-3", "Новый текст", "other"),
             _example("feedback-4", "Новый текст", "billing")]       # the later correction of a text wins
    merged = merge_feedback(corpus, extra)
    assert merged.replaced == ["tr1"] and merged.dropped == ["feedback-2"] and merged.superseded == ["feedback-3"]
    assert [e.id for e in merged.used] == ["feedback-1", "feedback-4"]
    assert {e.id for e in merged.train} == {"tr2", "feedback-1", "feedback-4"}
    assert all(e.split == "train" for e in merged.train)
    assert merged.summary() == {"used": 2, "replaced_corpus_ids": ["tr1"], "dropped_test_split": ["feedback-2"],
                                "superseded": ["feedback-3"]}
    assert merged.digest != merge_feedback(corpus, extra[:3]).digest
    assert text_key("КУРЬЕР ОПОЗДАЛ") != text_key("Курьер опоздал")  # case is kept: capitals can carry the tone


# ---- retraining with feedback --------------------------------------------------------------------

def test_training_with_feedback_learns_the_corrections(tmp_path, model_dir, monkeypatch):
    """40 corrections posted over HTTP, `triage train --feedback`: the model learns them, held-out
    metrics stay within 0.01, and the corrections that cannot be used are reported."""
    from training.train import train

    config = load_config()
    corpus = load_corpus(config)
    corpus_keys = {text_key(e.text) for e in corpus.examples}
    assert not [t for t, _ in CORRECTIONS if text_key(t) in corpus_keys], "test complaints must not be in the corpus"
    base_meta = train(out=tmp_path / "base", select_models=False)
    base = Classifier.load(tmp_path / "base")
    wrong_before = [(t, c) for t, c in CORRECTIONS if base.classify(t)["root_cause"] != c]
    assert len(wrong_before) >= 20, "the test needs complaints the current model gets wrong"

    db = f"sqlite:///{tmp_path / 'feedback.db'}"
    test_text, train_example = corpus.split("test")[0].text, corpus.split("train")[0]
    other_cause = next(c for c in config.root_causes if c != train_example.root_cause)
    with app_client(db, tmp_path / "base", base, monkeypatch) as client:
        def send(text: str, corrected: dict) -> int:
            result = client.post("/classify", json={"text": text}).json()
            r = client.post("/feedback", json={"text": text, "model_version": result["model_version"],
                                               "predicted": result, "corrected": corrected, "agent": "тест"})
            assert r.status_code == 201, r.text
            return r.json()["feedback_id"]

        superseded = send(CORRECTIONS[0][0], {"root_cause": "other"})  # a slip, corrected again below
        ids = [send(text, {"root_cause": cause}) for text, cause in CORRECTIONS]
        on_test_text = send(test_text, {"root_cause": "other"})
        send(train_example.text, {"root_cause": other_cause})
        queue_only = send(CORRECTIONS[1][0] + " Повторно.", {"queue": "legal"})
        invalid = client.app.state.feedback_store.add_feedback(_record("Текст с неизвестной причиной",
                                                                        corrected={"root_cause": "teleport"}))
    r = triage_cli("train", "--feedback", "--no-select", env={"TRIAGE_DB": db, "TRIAGE_MODEL": str(tmp_path / "fb")})
    assert r.returncode == 0, r.stderr
    assert f"not used: feedback {invalid['feedback_id']}: unknown root_cause 'teleport'" in r.stderr
    assert f"not used: feedback {queue_only}: corrects only the queue" in r.stderr
    assert f"dropped because their text is in the test split: feedback-{on_test_text}" in r.stderr

    meta = json.loads((tmp_path / "fb" / "meta.json").read_text(encoding="utf-8"))
    fb = meta["training_data"]["feedback"]
    assert meta["training_data"]["feedback_rows"] == len(CORRECTIONS) + 1
    assert fb["dropped_test_split"] == [f"feedback-{on_test_text}"]
    assert fb["superseded"] == [f"feedback-{superseded}"]
    assert train_example.id in fb["replaced_corpus_ids"]
    assert ".fb" in meta["version"] and meta["version"] != base_meta["version"]
    assert f"{len(CORRECTIONS) + 1} feedback rows" in (tmp_path / "fb" / "CARD.md").read_text(encoding="utf-8")
    assert ids  # every correction was stored

    retrained = Classifier.load(tmp_path / "fb")
    fixed = [t for t, c in wrong_before if retrained.classify(t)["root_cause"] == c]
    assert len(fixed) >= 0.8 * len(wrong_before), f"only {len(fixed)} of {len(wrong_before)} corrections learned"
    assert sum(retrained.classify(t)["root_cause"] == c for t, c in CORRECTIONS) >= 0.9 * len(CORRECTIONS)
    before, after = base_meta["metrics"]["holdout"], meta["metrics"]["holdout"]
    assert after["test_rows"] == before["test_rows"]
    assert after["cause_macro_f1"] >= before["cause_macro_f1"] - 0.01, (before, after)
    assert after["tone_f1"] >= before["tone_f1"] - 0.01, (before, after)
