"""Property-based tests: any Unicode in, a valid result or a clean 4xx out, never a 500."""
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from triage.api import Settings, create_app
from triage.features import prepare
from triage.signals import find_signals

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(st.text(max_size=400))
def test_normalization_and_signals_accept_any_unicode(text):
    doc = prepare([text])[0]
    assert all(isinstance(lemma, str) and lemma for lemma in doc.normalized.lemmas)
    for s in find_signals(text):
        assert text[s.start:s.end] == s.text


@FAST
@given(text=st.text(max_size=300), customer=st.one_of(st.none(), st.fixed_dictionaries(
    {}, optional={"id": st.text(max_size=20), "complaints_90d": st.integers(-5, 500),
                  "revenue_12m": st.floats(allow_nan=False, allow_infinity=False, min_value=-1e3, max_value=1e12)})))
def test_classify_answers_200_or_4xx(client, text, customer):
    body = {"text": text} if customer is None else {"text": text, "customer": customer}
    r = client.post("/classify", json=body)
    assert r.status_code in (200, 413, 422), r.text
    if r.status_code == 200:
        result = r.json()
        assert abs(sum(result["root_cause_scores"].values()) - 1) < 1e-4
        for s in result["signals"]:
            assert text[s["span"][0]:s["span"][1]] == s["text"]
    else:
        assert r.json()["detail"]


@FAST
@given(st.binary(max_size=200))
def test_raw_bytes_as_body_never_500(client, raw):
    r = client.post("/classify", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200 or 400 <= r.status_code < 500 and r.json()["detail"]


def test_openapi_contract(model_dir, classifier):
    """schemathesis generates requests from the app's own OpenAPI schema for every operation;
    no response may be a 5xx, and every response must match its documented schema."""
    from fastapi.testclient import TestClient

    app = create_app(Settings(model_dir=str(model_dir)), classifier=classifier)
    with TestClient(app):  # runs the lifespan, so the model is attached
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} >= {"/classify", "/classify/batch", "/health", "/model"}
        for operation in operations:
            @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def check(case):
                case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
            check()
