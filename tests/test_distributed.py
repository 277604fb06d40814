"""The Dask engine on a real LocalCluster with 2 worker processes."""
import json
import threading
import time

import pytest

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

from triage.batch import score_file  # noqa: E402
from triage.distributed import score_frame, score_with_dask  # noqa: E402

TEXTS = ["Курьер опоздал на три часа", "Списали деньги дважды", "Не могу войти в приложение",
         "Оператор нагрубил", "Промокод не сработал", "Звонят с рекламой каждый день"]


def archive(path, n, bad_every=0):
    lines = []
    for i in range(n):
        if bad_every and i % bad_every == 0:
            lines.append(json.dumps({"id": i, "text": ""}))
        else:
            lines.append(json.dumps({"id": i, "text": f"{TEXTS[i % len(TEXTS)]}, заказ {100000 + i}"}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def parts(directory):
    return [json.loads(l) for p in sorted(directory.glob("part-*.jsonl")) for l in p.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as c:
        yield c


def test_dask_gives_exactly_the_single_process_rows(tmp_path, cluster):
    src = tmp_path / "in.jsonl"
    archive(src, 3500, bad_every=500)
    score_file(src, tmp_path / "local.jsonl", progress=False)
    summary = score_with_dask(src, tmp_path / "dask.jsonl", scheduler=cluster.scheduler_address, progress=False)
    local = [json.loads(l) for l in (tmp_path / "local.jsonl").read_text(encoding="utf-8").splitlines()]
    assert parts(tmp_path / "dask.jsonl") == local
    assert (tmp_path / "dask.jsonl" / "_SUCCESS").exists()
    assert summary["read"] == 3500 and summary["rejected"] == 7 and summary["scored"] == 3493
    rejects = [json.loads(l) for l in (tmp_path / "dask.rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [1, 501, 1001, 1501, 2001, 2501, 3001]


def test_killed_worker_is_retried_without_loss_or_duplicates(tmp_path, cluster):
    src = tmp_path / "in.jsonl"
    archive(src, 12000)
    score_file(src, tmp_path / "local.jsonl", progress=False)
    from distributed import Client

    killed_at = []

    def kill_one_worker():  # as soon as the first results are written: the run is under way
        deadline = time.time() + 60
        while time.time() < deadline and not any(p.stat().st_size for p in (tmp_path / "dask.jsonl").glob("part-*")):
            time.sleep(0.02)
        with Client(cluster.scheduler_address) as c:
            victim = sorted(c.scheduler_info()["workers"])[0]
            killed_at.append(time.time())
            try:
                c.run(lambda: __import__("os")._exit(1), workers=[victim])
            except OSError:  # the worker dies before it can answer: that is the point
                pass

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    summary = score_with_dask(src, tmp_path / "dask.jsonl", scheduler=cluster.scheduler_address, progress=False)
    finished_at = time.time()
    killer.join()
    assert killed_at and killed_at[0] < finished_at - 0.2, "the run ended before the worker was killed"
    local = [json.loads(l) for l in (tmp_path / "local.jsonl").read_text(encoding="utf-8").splitlines()]
    assert summary["read"] == summary["scored"] == 12000
    assert parts(tmp_path / "dask.jsonl") == local


def test_score_frame_on_a_dask_dataframe(cluster):
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client

    pdf = pd.DataFrame({"id": range(8), "text": TEXTS + ["", "Курьер нахамил"]})
    with Client(cluster.scheduler_address):
        scored = score_frame(dd.from_pandas(pdf, npartitions=3)).compute()
    assert list(scored["id"]) == list(range(8))
    assert scored["reject_reason"].iloc[6] == "text is empty"
    assert scored["root_cause"].iloc[6] is None and scored["root_cause"].notna().sum() == 7
