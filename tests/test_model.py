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


def test_own_analyzers_give_scikit_learns_n_grams():
    """word_grams / char_grams replace TfidfVectorizer's string analyzers for speed; same n-grams."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from training.corpus import load_corpus
    from triage.config import load_config
    from triage.features import char_grams, word_grams

    char_wb = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=False).build_analyzer()
    words = TfidfVectorizer(token_pattern=r"\S+", lowercase=False, ngram_range=(1, 3)).build_analyzer()
    docs = prepare([e.text for e in load_corpus(load_config()).examples[:1500]] + ["х", "ab ё*", "a"])
    for d in docs:
        assert sorted(char_grams(d.normalized.rare)) == sorted(char_wb(" ".join(d.normalized.rare) or " "))
        assert sorted(word_grams(d.normalized.lemmas, 1, 3)) == sorted(words(" ".join(d.normalized.lemmas)))


def test_tfidf_rows_equal_the_vectorizers_transform(classifier):
    from training.corpus import load_corpus
    from triage.config import load_config
    from triage.features import tfidf_rows

    features = classifier.model.features_
    docs = prepare([e.text for e in load_corpus(load_config()).examples[:800]] + ["!!!", "х*р", "ок"])
    for vectorizer, part in ((features.words_, lambda d: d.normalized.lemmas), (features.chars_, lambda d: d.normalized.rare)):
        ours = tfidf_rows(vectorizer, map(part, docs)).toarray()
        theirs = vectorizer.transform(map(part, docs)).toarray()
        assert ours.shape == theirs.shape and np.abs(ours - theirs).max() < 1e-5
