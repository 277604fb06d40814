"""Properties of the fitted model: probabilities, the prior correction, the fast probability path."""
import numpy as np

from triage.features import prepare
from triage.model import adjust_prior

TEXTS = ["Курьер опоздал на три часа", "Все вы воры и бездари!!!", "Списали 990 руб дважды",
         "приложение не открывается", "Требую компенсацию 100 000 за испорченное настроение, иначе суд"]


def test_runtime_model_equals_scikit_learns_predict_proba():
    """fit_model keeps only arrays; its probabilities must be scikit-learn's for the same fit."""
    from training.corpus import load_corpus
    from training.fit import ComplaintFeatures, fit_model
    from training.train import estimator
    from triage.config import load_config

    config = load_config()
    examples = load_corpus(config).examples[:1200]
    docs = prepare(e.text for e in examples[:1000])
    causes, tones = [e.root_cause for e in examples[:1000]], [e.tone for e in examples[:1000]]
    spec = ComplaintFeatures(use_signals=True, signal_weight=0.3)
    model = fit_model(config.root_causes, spec, estimator(4.0), estimator(4.0), docs, causes, tones)

    feats = ComplaintFeatures(use_signals=True, signal_weight=0.3).fit(docs)
    X = feats.transform(docs)
    cause = estimator(4.0).fit(X, causes)
    tone = estimator(4.0).fit(X, [t == "scandalist" for t in tones])
    held_out = prepare([e.text for e in examples[1000:]] + TEXTS)
    p_cause, p_tone = model.predict_proba(held_out)
    theirs = cause.predict_proba(feats.transform(held_out))
    order = [list(cause.classes_).index(c) for c in config.root_causes]
    assert np.allclose(p_cause, theirs[:, order], atol=1e-5)
    assert np.allclose(p_tone, tone.predict_proba(feats.transform(held_out))[:, 1], atol=1e-5)


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


def test_tfidf_blocks_equal_the_vectorizers_transform():
    from training.corpus import load_corpus
    from training.fit import ComplaintFeatures
    from triage.config import load_config

    docs = prepare([e.text for e in load_corpus(load_config()).examples[:800]] + ["!!!", "х*р", "ок"])
    feats = ComplaintFeatures().fit(docs[:600])
    for vectorizer, block, part in ((feats.words_, feats.space_.words, lambda d: d.normalized.lemmas),
                                    (feats.chars_, feats.space_.chars, lambda d: d.normalized.rare)):
        ours = block.transform(map(part, docs)).toarray()
        theirs = vectorizer.transform(map(part, docs)).toarray()
        assert ours.shape == theirs.shape and np.abs(ours - theirs).max() < 1e-5
