"""Properties of the fitted model: probabilities, the prior correction, the fast probability path."""
import numpy as np

from triage.features import prepare
from triage.model import adjust_prior, linear_proba

TEXTS = ["Курьер опоздал на три часа", "Все вы воры и бездари!!!", "Списали 990 руб дважды",
         "приложение не открывается", "Требую компенсацию 100 000 за испорченное настроение, иначе суд"]


def test_fast_path_equals_predict_proba(classifier):
    model = classifier.model
    X = model.features_.transform(prepare(TEXTS))
    for head in (model.cause_, model.tone_):
        assert np.allclose(linear_proba(head, X), head.predict_proba(X), atol=1e-5)  # float32 features


def test_cause_probabilities_sum_to_one(classifier):
    causes, tone = classifier.model.predict_proba(prepare(TEXTS))
    assert np.allclose(causes.sum(axis=1), 1.0) and ((0 <= tone) & (tone <= 1)).all()


def test_prior_correction_is_identity_at_the_training_share_and_monotonic():
    p = np.linspace(0.01, 0.99, 50)
    assert np.allclose(adjust_prior(p, 0.3, 0.3), p)
    lowered = adjust_prior(p, 0.3, 0.05)
    assert (lowered < p).all() and (np.diff(lowered) > 0).all()
