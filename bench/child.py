"""One measurement in a fresh process, so imports, caches and peak RSS belong to it alone.

Usage: python -m bench.child NAME JSON_ARGS -> prints {"seconds": ..., "peak_rss_mb": ...} as JSON.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def score(archive: str, out: str, jobs: int = 1, engine: str = "local") -> None:
    if engine == "dask":
        from triage.distributed import score_with_dask
        score_with_dask(Path(archive), Path(out), None, jobs, progress=False)
    else:
        from triage.batch import score_file
        score_file(Path(archive), Path(out), jobs=jobs, progress=False)


def naive(sample: str) -> None:
    """spaCy blank('ru') with its pymorphy3 lemmatizer, nothing cached: the straightforward way."""
    import spacy

    nlp = spacy.blank("ru")
    nlp.add_pipe("lemmatizer", config={"mode": "pymorphy3"})
    nlp.initialize()
    for doc in nlp.pipe(json.loads(Path(sample).read_text(encoding="utf-8"))):
        [t.lemma_ for t in doc]


def tokenize(archive: str) -> None:
    import spacy

    texts = [json.loads(line)["text"] for line in open(archive, encoding="utf-8")]
    for doc in spacy.blank("ru").tokenizer.pipe(texts, batch_size=1000):
        len(doc)


def bare_tfidf(archive: str, out: str, corpus: str) -> None:
    """Plain word TF-IDF + logistic regression with JSONL read and write: the floor of any text classifier."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train = [json.loads(line) for line in open(corpus, encoding="utf-8")]
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    clf = LogisticRegression(max_iter=2000).fit(vec.fit_transform([r["text"] for r in train]),
                                                [r["root_cause"] for r in train])
    started = time.perf_counter()
    with open(archive, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as o:
        batch: list[dict] = []
        for line in f:
            batch.append(json.loads(line))
            if len(batch) == 2000:
                _write(batch, clf.predict(vec.transform([b["text"] for b in batch])), o)
                batch = []
        if batch:
            _write(batch, clf.predict(vec.transform([b["text"] for b in batch])), o)
    return time.perf_counter() - started  # the fit on the corpus is not part of the measured time


def _write(batch, predicted, o) -> None:
    for row, p in zip(batch, predicted):
        o.write(json.dumps({"id": row["id"], "root_cause": p}) + "\n")


def load_model() -> None:
    from triage.pipeline import Classifier

    Classifier.load().warm_up()


def train(out: str) -> None:
    from training.train import train as fit

    fit(out=Path(out))


def main() -> None:
    name, args = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    started = time.perf_counter()
    measured = globals()[name](**args)
    seconds = measured if isinstance(measured, float) else time.perf_counter() - started
    rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"seconds": seconds, "peak_rss_mb": round(rss / 1024, 1)}))


if __name__ == "__main__":
    main()
