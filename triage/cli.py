"""The `triage` command. Exit codes: 0 done; 2 bad usage or unusable input found before any work;
1 anything else. Errors are one plain sentence on stderr."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from triage.errors import ConfigError, InputError, ModelError, TriageError


def _classify(args) -> int:
    from triage.history import Customer
    from triage.pipeline import Classifier
    from triage.surrogates import mend

    customer = None
    if args.customer:
        try:
            raw = json.loads(args.customer)
            customer = Customer(id=raw.get("id"), complaints_90d=raw.get("complaints_90d"),
                                revenue_12m=raw.get("revenue_12m"))
        except (json.JSONDecodeError, AttributeError):
            raise InputError("--customer must be a JSON object such as '{\"id\": \"c1\", \"revenue_12m\": 15000}'")
    if not args.text.strip():
        raise InputError("TEXT is empty")
    result = Classifier.load().classify(mend(args.text), customer)  # bytes that are not UTF-8 arrive as surrogates
    print(json.dumps(result, ensure_ascii=False, indent=None if args.compact else 2))
    return 0


def _score(args) -> int:
    common = dict(encoding=args.encoding, delimiter=args.delimiter, progress=not args.quiet)
    if args.engine == "dask":
        try:
            from triage.distributed import score_with_dask
        except ImportError:
            raise InputError("--engine dask needs the dask extra: pip install -e '.[dask]'") from None
        if args.resume:
            raise InputError("--resume works with --engine local only")
        summary = score_with_dask(Path(args.input), Path(args.output), args.scheduler, max(2, args.jobs), **common)
    else:
        from triage.batch import score_file

        summary = score_file(Path(args.input), Path(args.output), jobs=args.jobs, resume=args.resume, **common)
    print(f"read {summary['read']}, scored {summary['scored']}, rejected {summary['rejected']} "
          f"in {summary['seconds']} s", file=sys.stderr)
    return 0


def _feedback_examples() -> list:
    """Agents' corrections from the database as training examples; the ones left out are listed on stderr."""
    from training.feedback_merge import feedback_examples
    from triage.config import load_config
    from triage.feedback import FeedbackStore

    with FeedbackStore.open() as store:
        examples, problems = feedback_examples(store.feedback(), load_config())
    for problem in problems:
        print(f"triage: not used: {problem}", file=sys.stderr)
    return examples


def _train(args) -> int:
    from training.train import train

    extra = _feedback_examples() if args.feedback else None
    meta = train(Path(args.data) if args.data else None, extra=extra, select_models=not args.no_select)
    h = meta["metrics"]["holdout"]
    print(f"model {meta['version']}: held-out cause macro-F1 {h['cause_macro_f1']:.3f}, "
          f"tone F1 {h['tone_f1']:.3f} ({meta['training_seconds']} s)", file=sys.stderr)
    if args.feedback:
        fb = meta["training_data"]["feedback"]
        print(f"feedback: {fb['used']} corrections used ({len(fb['replaced_corpus_ids'])} replaced corpus labels, "
              f"{len(fb['superseded'])} superseded by a later correction of the same text); "
              f"{len(fb['dropped_test_split'])} dropped because their text is in the test split"
              + (f": {', '.join(fb['dropped_test_split'])}" if fb["dropped_test_split"] else ""), file=sys.stderr)
    return 0


def _feedback_export(args) -> int:
    from triage.feedback import FeedbackStore, export_jsonl, parse_time

    out = Path(args.out)
    if not out.parent.is_dir():
        raise InputError(f"{out.parent}: no such directory for the export")
    try:
        since = parse_time(args.since) if args.since else None
    except ValueError as exc:
        raise InputError(f"--since: {exc}") from None
    with FeedbackStore.open() as store:
        count = export_jsonl(store, out, since)
    print(f"{count} corrections written to {out}", file=sys.stderr)
    return 0


def _feedback_purge(args) -> int:
    from triage.config import load_config
    from triage.feedback import FeedbackStore, parse_age

    older_than = args.older_than or f"{load_config().feedback_retention_days}d"
    try:
        age = parse_age(older_than)
    except ValueError as exc:
        raise InputError(f"--older-than: {exc}") from None
    with FeedbackStore.open() as store:
        deleted = store.purge(age)
    print(f"deleted {deleted['feedback']} corrections and {deleted['review_items']} queued classifications "
          f"older than {older_than.strip()}", file=sys.stderr)
    return 0


def _evaluate(args) -> int:
    from training.evaluate import evaluate

    report = evaluate(Path(args.data) if args.data else None, Path(args.out) if args.out else None)
    print(report, file=sys.stderr)
    return 0


def _report(args) -> int:
    from triage.report import write_report

    if not Path(args.scored).exists():
        raise InputError(f"{args.scored}: no such file or directory")
    input_path = Path(args.input) if args.input else None
    if args.feedback:
        from triage.feedback import FeedbackStore

        with FeedbackStore.open() as store:
            out = write_report(Path(args.scored), Path(args.out), args.format, input_path, store.feedback())
    else:
        out = write_report(Path(args.scored), Path(args.out), args.format, input_path)
    print(f"report written to {out}", file=sys.stderr)
    return 0


def _serve(args) -> int:
    import uvicorn

    # One JSON line per request comes from the app itself (with the request id); uvicorn's own access
    # log would repeat it without the id.
    uvicorn.run("triage.api:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level="info", access_log=False)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="triage", description="Russian complaint triage: root cause, tone, routing.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("classify", help="classify one complaint and print the result as JSON")
    c.add_argument("text", help="the complaint text")
    c.add_argument("--customer", help='customer facts as JSON: {"id", "complaints_90d", "revenue_12m"}')
    c.add_argument("--compact", action="store_true", help="print on one line")
    c.set_defaults(func=_classify)

    s = sub.add_parser("score", help="score a CSV/TSV/JSONL/Parquet archive (optionally .gz)")
    s.add_argument("input")
    s.add_argument("output", help=".jsonl, .csv or .parquet; rejects, summary and customers files go beside it")
    s.add_argument("--jobs", type=int, default=1, help="worker processes (each loads the model once)")
    s.add_argument("--engine", choices=["local", "dask"], default="local")
    s.add_argument("--scheduler", help="Dask scheduler address (with --engine dask)")
    s.add_argument("--resume", action="store_true", help="continue an interrupted run without duplicating rows")
    s.add_argument("--encoding", help="input encoding (default: detect UTF-8, UTF-8 with BOM or cp1251)")
    s.add_argument("--delimiter", help="CSV delimiter (default: sniff , ; tab |)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_score)

    t = sub.add_parser("train", help="retrain the default model from corpora/ (writes models/default)")
    t.add_argument("--data", help="labeled corpus (JSONL or CSV); default corpora/complaints.jsonl")
    t.add_argument("--feedback", action="store_true", help="merge agents' corrections from the database")
    t.add_argument("--no-select", action="store_true", help="skip the cross-validated model comparison")
    t.set_defaults(func=_train)

    e = sub.add_parser("evaluate", help="write the evaluation report (held-out, CV, baselines, benchmarks)")
    e.add_argument("--data", help="labeled corpus; default corpora/complaints.jsonl")
    e.add_argument("--out", help="report directory; default: the model directory")
    e.set_defaults(func=_evaluate)

    r = sub.add_parser("report", help="root-cause report (HTML or Markdown) from a scored file")
    r.add_argument("scored", help="output of `triage score` (file or parts directory)")
    r.add_argument("--out", required=True, help="report file to write")
    r.add_argument("--format", choices=["html", "md"], default="html")
    r.add_argument("--input", help="the original archive, to quote example complaints (scored files carry no text)")
    r.add_argument("--feedback", action="store_true",
                   help="add agents' agreement with the model from the feedback database (TRIAGE_DB)")
    r.set_defaults(func=_report)

    f = sub.add_parser("feedback", help="agents' corrections in the feedback database (TRIAGE_DB)")
    fsub = f.add_subparsers(dest="feedback_command", required=True)
    fe = fsub.add_parser("export", help="write the stored corrections as JSON lines")
    fe.add_argument("out", metavar="OUT.jsonl")
    fe.add_argument("--since", help="only corrections stored from this ISO date or datetime on (UTC by default)")
    fe.set_defaults(func=_feedback_export)
    fp = fsub.add_parser("purge", help="delete corrections and queued classifications older than an age",
                         description="Retention of personal data: deletes agents' corrections and the "
                                     "classifications kept for the review queue that are older than the age. "
                                     "Run it daily (e.g. from cron).")
    fp.add_argument("--older-than", metavar="AGE",
                    help="e.g. 90d, 12h or 2w; default: [feedback] retention_days in config.toml (90 days)")
    fp.set_defaults(func=_feedback_purge)

    v = sub.add_parser("serve", help="run the HTTP API with uvicorn")
    v.add_argument("--host", default="127.0.0.1")
    v.add_argument("--port", type=int, default=8000)
    v.add_argument("--workers", type=int, default=1)
    v.set_defaults(func=_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        print("triage: --jobs must be at least 1", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (InputError, ConfigError, FileNotFoundError) as exc:
        print(f"triage: {exc}", file=sys.stderr)
        return 2
    except (ModelError, TriageError) as exc:
        print(f"triage: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("triage: interrupted; `triage score ... --resume` continues where it stopped", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
