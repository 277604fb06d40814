"""`triage score` on real files: every record is scored or rejected with a reason."""
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from triage.batch import score_file
from triage.errors import InputError

GOOD = ["Курьер опоздал на три часа, заказ 558812", "Списали 990 руб за подписку, которую я не оформлял",
        "Приложение банка не открывается с утра", "Оператор нагрубил и бросил трубку"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def test_cp1251_csv_with_semicolons_multiline_and_broken_rows(tmp_path):
    src = tmp_path / "export.csv"
    content = ('id;text;customer_id;created_at;revenue_12m\n'
               f'a1;"{GOOD[0]}";c1;2026-03-01;1200\n'
               'a2;;c1;2026-03-02;1200\n'                                  # empty text
               f'a3;"{GOOD[1]}\nвторая строка жалобы";c2;2026-03-05;90\n'  # multiline field
               f'a4;"{GOOD[2]}";c2;вчера;90\n'                            # bad date
               f'a5;"{GOOD[3]}";c3;2026-03-07;много\n'                    # bad revenue
               'a6;"лишнее поле";c3;2026-03-07;1;2\n')                    # wrong field count
    src.write_bytes(content.encode("cp1251"))
    out = tmp_path / "out" / "scored.jsonl"
    summary = score_file(src, out, progress=False)
    assert (summary["read"], summary["scored"], summary["rejected"]) == (6, 2, 4)
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["a1", "a3"]
    assert rows[1]["line"] == 3
    rejects = {r["line"]: r["reason"] for r in read_jsonl(out.with_name("scored.rejects.jsonl"))}
    assert set(rejects) == {2, 4, 5, 6}
    assert "empty" in rejects[2] and "created_at" in rejects[4] and "revenue_12m" in rejects[5] and "fields" in rejects[6]
    saved = json.loads(out.with_name("scored.summary.json").read_text())
    assert saved["read"] == saved["scored"] + saved["rejected"] == 6
    customers = {c["customer_id"]: c for c in read_jsonl(out.with_name("scored.customers.jsonl"))}
    assert set(customers) == {"c1", "c2"} and customers["c1"]["complaints"] == 1


def test_jsonl_gz_with_broken_lines_to_csv(tmp_path):
    src = tmp_path / "in.jsonl.gz"
    lines = [json.dumps({"text": GOOD[0]}, ensure_ascii=False), "{not json", "", json.dumps({"text": 17}),
             json.dumps(["a list"]), json.dumps({"id": 9, "text": GOOD[1]}, ensure_ascii=False)]
    with gzip.open(src, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    out = tmp_path / "scored.csv"
    summary = score_file(src, out, progress=False)
    assert (summary["read"], summary["scored"], summary["rejected"]) == (5, 2, 3)
    import csv
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert [r["id"] for r in rows] == ["1", "9"]  # the line number stands in for a missing id
    assert json.loads(rows[0]["root_cause_scores"])
    reasons = [r["reason"] for r in read_jsonl(tmp_path / "scored.rejects.jsonl")]
    assert any("JSON" in r for r in reasons) and any("not a string" in r for r in reasons)


def test_parquet_in_and_out(tmp_path, classifier):
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["p1", "p2", "p3"], "text": [GOOD[2], None, GOOD[3]]}), src)
    out = tmp_path / "scored.parquet"
    summary = score_file(src, out, progress=False)
    assert (summary["scored"], summary["rejected"]) == (2, 1)
    table = pq.read_table(out).to_pylist()
    assert [r["id"] for r in table] == ["p1", "p3"]
    assert table[0]["root_cause"] == classifier.classify(GOOD[2])["root_cause"]


def test_missing_text_column_fails_before_any_work(tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("id,body\n1,hello\n", encoding="utf-8")
    with pytest.raises(InputError, match="no 'text' column"):
        score_file(src, tmp_path / "o.jsonl", progress=False)
    assert not list(tmp_path.glob("o*"))


def numbered_archive(path: Path, rows: int) -> Path:
    """A JSONL archive of `rows` distinct complaints."""
    path.write_text("".join(json.dumps({"id": i, "text": GOOD[i % 4] + f" номер {i}"}, ensure_ascii=False) + "\n"
                            for i in range(rows)), encoding="utf-8")
    return path


def test_jobs_2_gives_the_same_rows_as_one_process(tmp_path):
    src = numbered_archive(tmp_path / "in.jsonl", 2500)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    score_file(src, one, progress=False)
    score_file(src, two, jobs=2, progress=False)
    assert read_jsonl(one) == read_jsonl(two)


def _interrupt_and_resume(tmp_path: Path, interrupt, *options: str) -> str:
    """Run `triage score` on a 30,000-row archive, `interrupt(proc)` once 3,000 rows are saved, then
    --resume: the output must equal an uninterrupted run's. Returns the interrupted run's stderr."""
    src = numbered_archive(tmp_path / "in.jsonl", 30000)
    full, cut = tmp_path / "full.jsonl", tmp_path / "cut.jsonl"
    score_file(src, full, progress=False)
    cmd = [sys.executable, "-m", "triage.cli", "score", str(src), str(cut), "--quiet", *options]
    proc = subprocess.Popen(cmd, env=os.environ.copy(), stderr=subprocess.PIPE, text=True)
    progress = tmp_path / "cut.progress.json"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if progress.exists() and json.loads(progress.read_text() or "{}").get("read", 0) >= 3000:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted; make the input bigger"
    interrupt(proc)
    _, err = proc.communicate(timeout=60)
    assert not cut.exists(), "an interrupted run must not leave a complete-looking output"
    assert subprocess.run(cmd + ["--resume"], env=os.environ.copy()).returncode == 0
    assert read_jsonl(cut) == read_jsonl(full)
    assert json.loads((tmp_path / "cut.summary.json").read_text())["read"] == 30000
    return err


def test_killed_run_resumes_to_the_same_output(tmp_path):
    """A fault test: kill the scorer mid-run, --resume, and compare with an uninterrupted run."""
    _interrupt_and_resume(tmp_path, lambda proc: proc.send_signal(signal.SIGKILL))


def _grandchildren(pid: int) -> list[int]:
    """Processes two levels below `pid` (--jobs workers: children of the forkserver), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    return [g for c in children.get(pid, []) for g in children.get(c, [])]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through /proc")
def test_a_killed_worker_stops_the_run_with_a_clear_error_and_resume_finishes_it(tmp_path):
    """A fault test: kill one --jobs worker mid-run (as the OOM killer would). The run must stop with
    a one-line error instead of waiting forever for the lost task, and --resume must finish it."""
    def kill_a_worker(proc):
        workers = _grandchildren(proc.pid)
        assert workers, "no worker processes found"
        os.kill(workers[0], signal.SIGKILL)
        assert proc.wait(timeout=60) == 1

    err = _interrupt_and_resume(tmp_path, kill_a_worker, "--jobs", "2")
    assert "worker process died" in err and "--resume" in err and "Traceback" not in err


def test_utf8_bom_empty_lines_and_a_huge_field(tmp_path):
    src = tmp_path / "bom.csv"
    huge = "Курьер опять опоздал. " * 60000  # ~1.3 million characters in one quoted field
    src.write_text(f'\ufefftext,id\n"{GOOD[0]}",1\n\n"{huge}",2\n\n', encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    summary = score_file(src, out, progress=False)
    assert (summary["read"], summary["scored"], summary["rejected"]) == (2, 2, 0)
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["1", "2"] and rows[1]["truncated"] is True and rows[0]["truncated"] is False


def test_revenue_threshold_is_the_archives_own_top_decile_in_every_format(tmp_path):
    """The first pass reads only the revenue column; rows without it or with junk do not count."""
    from triage.batch import revenue_threshold

    revenues = [100 * i for i in range(1, 21)]  # 100 .. 2000; the 0.9 quantile is 1900
    rows = [{"id": i, "text": GOOD[i % 4], "revenue_12m": r} for i, r in enumerate(revenues)]
    rows += [{"id": 99, "text": GOOD[0]}, {"id": 98, "text": GOOD[1], "revenue_12m": "много"}]
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{broken\n", encoding="utf-8")
    csv_path = tmp_path / "a.csv"
    csv_path.write_text("id,text,revenue_12m\n" + "".join(f'{r["id"]},"{r["text"]}",{r.get("revenue_12m", "")}\n'
                                                          for r in rows), encoding="utf-8")
    parquet = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist([{**r, "revenue_12m": str(r.get("revenue_12m", ""))} for r in rows]), parquet)
    for path in (jsonl, csv_path, parquet):
        assert revenue_threshold(path, None, None, 0.9) == 1900.0, path.name
    no_revenue = tmp_path / "b.csv"
    no_revenue.write_text("id,text\n1,текст\n", encoding="utf-8")
    assert revenue_threshold(no_revenue, None, None, 0.9) is None


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
def test_jsonl_column_pass_finds_every_value_whatever_the_blocks_and_encoding(tmp_path, encoding):
    """The column pass searches the file's bytes and decodes only the lines that mention the field:
    in blocks of a few lines, values in any block, on the first line after a byte-order mark, after
    CRLF or lone CR line ends, and beside lines that lack the field are all found, in order."""
    from triage.io import _lines_mentioning, column_values

    rows = [{"id": i, "text": f"жалоба {i} " * (i % 5)} | ({"revenue_12m": i * 10} if i % 7 in (0, 3) else {})
            for i in range(60)]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    body = "\n".join(lines[:20]) + "\r\n" + "\r\n".join(lines[20:40]) + "\r" + "\r".join(lines[40:]) + "\n"
    path = tmp_path / "a.jsonl"
    path.write_bytes(body.encode(encoding))
    expected = [r["revenue_12m"] for r in rows if "revenue_12m" in r]
    assert list(column_values(path, "revenue_12m", encoding)) == expected
    lines = list(_lines_mentioning(path, False, encoding, '"revenue_12m"', size=200))
    assert [json.loads(line)["revenue_12m"] for line in lines] == expected


def test_ids_pass_through_whatever_json_allows(tmp_path):
    """Integer ids beyond 64 bits, strings and unicode come out as they went in (the fast JSON writer
    refuses big integers; the row must not be lost or changed for that)."""
    src = tmp_path / "in.jsonl"
    ids = [2**100 + 7, "заявка-№5", 42]
    src.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in zip(ids, GOOD)),
                   encoding="utf-8")
    out = tmp_path / "scored.jsonl"
    assert score_file(src, out, progress=False)["scored"] == 3
    assert [r["id"] for r in read_jsonl(out)] == ids


def test_unpaired_surrogate_escapes_mend_texts_and_reject_ids(tmp_path):
    """JSON may escape half of an emoji ("\\ud83d"): a text holding one is scored with U+FFFD in its
    place (signal spans keep their offsets); an id or customer id holding one is rejected with the
    reason; the run writes every file as UTF-8 instead of dying at the first such row."""
    text = "\ud83d Тупой курьер опоздал на три часа, заказ 558812"
    records = [{"id": "t1", "text": text}, {"id": "bad\udc00", "text": GOOD[1]},
               {"id": "c1", "customer_id": "x\ud800", "text": GOOD[2]}, {"id": "ok", "text": GOOD[3]}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")  # escaped: ASCII
    out = tmp_path / "scored.jsonl"
    summary = score_file(src, out, progress=False)
    assert (summary["read"], summary["scored"], summary["rejected"]) == (4, 2, 2)
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["t1", "ok"]
    insult = next(s for s in rows[0]["signals"] if s["name"] == "insult")
    mended = text.replace("\ud83d", "\ufffd")
    assert mended[slice(*insult["span"])] == insult["text"]
    rejects = read_jsonl(tmp_path / "scored.rejects.jsonl")
    assert [(r["line"], r["id"]) for r in rejects] == [(2, "bad\ufffd"), (3, "c1")]
    assert "surrogate" in rejects[0]["reason"] and rejects[1]["reason"].startswith("customer_id")


AWKWARD_LINES = [json.dumps({"id": 1, "text": GOOD[0]}, ensure_ascii=False), "",
                 "{not json", "[1, 2]", json.dumps({"id": 2, "text": "Ёлка\u2028не пришла"}, ensure_ascii=False),
                 "   ", json.dumps({"id": 3, "text": GOOD[1]})]


@pytest.mark.parametrize("newline,encoding,bom", [("\n", "utf-8", False), ("\r\n", "utf-8", True),
                                                   ("\r", "cp1251", False)])
def test_workers_reading_blocks_see_the_records_a_stream_sees(tmp_path, newline, encoding, bom):
    """Blocks of a few bytes (each a task a worker reads on its own) give exactly the records,
    line numbers and errors of reading the file as one stream, whatever the line breaks."""
    from triage.io import jsonl_blocks, read_records

    src = tmp_path / "in.jsonl"
    text = newline.join(AWKWARD_LINES * 3)  # no line break after the last record
    text = text if encoding == "utf-8" else text.replace("\u2028", " ")  # cp1251 has no LINE SEPARATOR
    src.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    stream = list(read_records(src))
    for size in (1, 7, 64, 1 << 20):
        blocks = list(jsonl_blocks(src, size=size))
        assert [r for b in blocks for r in b.records()] == stream
        assert blocks[-1].end == src.stat().st_size
    skipped = [r for b in jsonl_blocks(src, size=7, skip_to=9) for r in b.records()]
    assert skipped == [r for r in stream if r.line > 9]
    growing = list(jsonl_blocks(src, size=256, first=8))  # 8, 16, ... 256 bytes, each up to a line end
    assert [r for b in growing for r in b.records()] == stream


def test_blocks_start_small_and_grow(tmp_path):
    """The first tasks are small, so that the first results, and the pieces of text workers pass each
    other, come back soon."""
    from triage.io import jsonl_blocks

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": "x" * 50}) + "\n" for i in range(200)))
    sizes = [b.end - b.start for b in jsonl_blocks(src, size=4096, first=256)]
    assert sizes[0] < 400 and sizes[-2] >= 4096 and sizes == sorted(sizes[:-1]) + sizes[-1:]


def test_a_bad_byte_in_a_block_names_its_line(tmp_path):
    from triage.io import jsonl_blocks

    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"text": t}, ensure_ascii=False).encode() for t in GOOD]
    src.write_bytes(b"\n".join(lines[:3] + [b'{"text": "\xff\xfe"}'] + lines[3:]) + b"\n")
    with pytest.raises(InputError, match="line 4 is not utf-8 text"):
        [b.records() for b in jsonl_blocks(src, "utf-8", size=10)]
    with pytest.raises(InputError, match="is not utf-8 text"):  # the first read decodes a whole buffer
        score_file(src, tmp_path / "out.jsonl", jobs=2, encoding="utf-8", progress=False)
