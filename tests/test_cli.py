"""The installed `triage` command, run as a subprocess like a user would."""
import json
import os
import subprocess
import sys

import pytest


def triage(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "triage.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=300, **kw)


def test_classify_prints_a_result():
    r = triage("classify", "Третий раз переносите доставку холодильника, сколько можно", "--customer",
               '{"id": "c9", "complaints_90d": 2, "revenue_12m": 50000}')
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["root_cause"] and result["route"]["queue"]
    assert any(s["name"] == "repeat_contact" for s in result["signals"])


@pytest.mark.parametrize("command", ["classify", "score", "train", "evaluate", "serve", "report", "feedback"])
def test_help_everywhere(command):
    r = triage(command, "--help")
    assert r.returncode == 0 and "usage" in r.stdout


@pytest.mark.parametrize("args,message", [
    (["score", "/nonexistent/in.csv", "out.jsonl"], "no such file"),
    (["score", "in.xlsx", "out.jsonl"], "unsupported format"),
    (["classify", "  "], "empty"),
    (["classify", "текст", "--customer", "[1,2]"], "JSON object"),
])
def test_bad_usage_exits_2_with_one_sentence(args, message, tmp_path):
    r = triage(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr and r.stderr.count("\n") == 1


def test_no_text_column_exits_2(tmp_path):
    (tmp_path / "in.csv").write_text("id,body\n1,x\n", encoding="utf-8")
    r = triage("score", str(tmp_path / "in.csv"), str(tmp_path / "out.jsonl"))
    assert r.returncode == 2 and "no 'text' column" in r.stderr
