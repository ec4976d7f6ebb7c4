"""What ``flowyard logs`` and ``flowyard provenance`` show for in-process (Python function) tasks, run
as a user runs flowyard (a fresh folder, nothing configured, the CLI in a process).

These pin the output whatever the storage under it: per-task ``stdout.log``/``stderr.log``/
``provenance.json``, or one append-only file per step (issue 17's functions figure).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from flowyard.runs import read_journal

from .as_user import default_runs, run_json, user_cli

CHATTY = '''
import os
import sys
from pathlib import Path


def talk(x: int, flags: str, out: Path) -> None:
    """Says something on both streams, except item 1 (silent); item 2 fails on its first attempt."""
    if x != 1:
        print(f"out {x}")
        print(f"line two of {x}")
        print(f"err {x}", file=sys.stderr)
    if x == 2 and not os.path.exists(os.path.join(flags, "2")):
        Path(flags, "2").write_text("")
        raise RuntimeError("item 2 fails once")
    out.write_text(f"talked {x}", encoding="utf-8")


def copy(src: Path, out: Path) -> None:
    out.write_text(src.read_text(encoding="utf-8") + " and copied", encoding="utf-8")
'''

SPEC = """
apiVersion: flowyard/v1
name: chatter
parameters: {{xs: {{type: list, default: [0, 1, 2, 3]}}, tag: {{type: string, default: t1}}}}
steps:
  talk:
    for_each: ${{{{ params.xs }}}}
    python: {{function: "chatty:talk"}}
    inputs: {{x: "${{{{ item }}}}", flags: "{flags}"}}
    outputs: {{out: talked.txt}}
    retries: {{limit: 1, backoff: {{duration: 0.01}}}}
  copy:
    for_each: ${{{{ steps.talk.outputs.out }}}}
    python: {{function: "chatty:copy"}}
    inputs: {{src: "${{{{ item }}}}"}}
    outputs: {{out: copied.txt}}
outputs: {{copies: "${{{{ steps.copy.outputs.out }}}}"}}
"""


def _pipeline(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "flags").mkdir(exist_ok=True)
    (tmp_path / "specs" / "chatty.py").write_text(textwrap.dedent(CHATTY), encoding="utf-8")
    path = tmp_path / "specs" / "chatter.yaml"
    path.write_text(SPEC.format(flags=tmp_path / "flags"), encoding="utf-8")
    return path


def _run(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    work = tmp_path / "work"
    work.mkdir()
    result = user_cli("run", str(_pipeline(tmp_path)), "--json", cwd=work)
    assert result.returncode == 0, result.stderr
    return run_json(result), work


def _logs(work: Path, *args: str) -> str:
    result = user_cli("logs", *args, cwd=work)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_flowyard_logs_of_in_process_tasks_item_by_item(tmp_path: Path) -> None:
    status, work = _run(tmp_path)
    run_id = status["run_id"]
    assert (
        _logs(work, run_id, "talk", "--item", "0")
        == "talk[0]: out 0\ntalk[0]: line two of 0\ntalk[0] (stderr): err 0\n"
    )
    assert _logs(work, run_id, "talk", "--item", "1") == ""  # silent: nothing to show
    assert (
        _logs(work, run_id, "talk", "--item", "3")
        == "talk[3]: out 3\ntalk[3]: line two of 3\ntalk[3] (stderr): err 3\n"
    )
    retried = _logs(work, run_id, "talk", "--item", "2").splitlines()
    # both attempts, each stream's attempts in order, the failed attempt's traceback on stderr
    assert retried[:4] == ["talk[2]: out 2", "talk[2]: line two of 2", "talk[2]: --- attempt 2 ---", "talk[2]: out 2"]
    assert retried[4] == "talk[2]: line two of 2"
    assert retried[5] == "talk[2] (stderr): err 2"
    assert retried[6] == "talk[2] (stderr): Traceback (most recent call last):"
    errors = retried[6:]
    assert all(line.startswith("talk[2] (stderr): ") for line in errors)
    assert errors.index("talk[2] (stderr): RuntimeError: item 2 fails once") < errors.index(
        "talk[2] (stderr): --- attempt 2 ---"
    )
    assert errors[-2:] == ["talk[2] (stderr): --- attempt 2 ---", "talk[2] (stderr): err 2"]


def test_flowyard_logs_of_a_whole_step_and_run_and_an_unknown_item(tmp_path: Path) -> None:
    status, work = _run(tmp_path)
    run_id = status["run_id"]
    step = _logs(work, run_id, "talk")
    items = [_logs(work, run_id, "talk", "--item", str(i)) for i in range(4)]
    assert step == "".join(items)  # item by item, in item order
    assert _logs(work, run_id) == step  # copy printed nothing
    assert _logs(work, run_id, "copy") == ""
    missing = user_cli("logs", run_id, "talk", "--item", "9", cwd=work)
    assert missing.returncode == 2 and missing.stderr.strip() == (
        f"error: run {run_id!r} has no logs for step 'talk' item 9"
    ), missing.stderr


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_flowyard_provenance_of_an_in_process_tasks_artifact(tmp_path: Path) -> None:
    status, work = _run(tmp_path)
    run_id = status["run_id"]
    copied = Path(status["outputs"]["copies"][2])
    talked = copied.parents[2] / "talk" / "000002" / "talked.txt"
    assert copied.read_text() == "talked 2 and copied" and talked.is_file()
    result = user_cli("provenance", str(copied), "--json", cwd=work)
    assert result.returncode == 0, result.stderr
    chain = json.loads(result.stdout)["chain"]
    assert [(r["depth"], r["step"], r["item"], r["attempt"]) for r in chain] == [(0, "copy", 2, 1), (1, "talk", 2, 2)]
    for r in chain:
        assert r["run_id"] == run_id and r["pipeline"] == "chatter" and r["backend"] == "local"
        assert r["function"] == f"chatty:{r['step']}" and r["exit_code"] == 0
        assert r["started_at"] <= r["finished_at"]
        assert r["schema_version"] == "flowyard.provenance/v1"
    copy_rec, talk_rec = chain
    assert copy_rec["outputs"] == [
        {
            "name": "out",
            "type": "file",
            "uri": str(copied),
            "sha256": _sha(copied),
            "size": None,
            "value": None,
            "source": None,
            "missing_items": [],
        }
    ]
    (src,) = copy_rec["inputs"]
    assert (src["name"], src["type"], src["source"], src["sha256"]) == (
        "src",
        "file",
        "steps.talk.outputs.out[2]",
        _sha(talked),
    )
    assert talk_rec["outputs"][0]["uri"] == str(talked) and talk_rec["outputs"][0]["sha256"] == _sha(talked)
    assert {i["name"]: (i["value"], i["source"]) for i in talk_rec["inputs"]} == {
        "x": (2, "item[2]"),
        "flags": (str(tmp_path / "flags"), "literal"),
    }
    text = user_cli("provenance", str(copied), cwd=work)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith(f"copy[2]  run {run_id}  backend local  exit 0  at ")
    assert lines[1:3] == [
        "  command: chatty:copy",
        "  image:   - (not used here)   flowyard " + chain[0]["flowyard_version"],
    ]
    assert lines[3] == f"  output out: {str(copied)!r}  sha256:{_sha(copied)[:16]}"
    assert lines[4] == f"  input  src <- steps.talk.outputs.out[2]  sha256:{_sha(talked)[:16]}"
    assert lines[5].startswith(f"  └─ talk[2]  run {run_id}  backend local  exit 0  at ")
    assert len(lines) == 11
    # the task's own folder and the upstream artifact lead to the same records
    for path in (copied.parent, talked):
        again = user_cli("provenance", str(path), "--json", cwd=work)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["chain"][0]["step"] == ("copy" if path == copied.parent else "talk")


# --- a SIGKILL loses nothing recorded as done -----------------------------------------------------------

TICKS = """
import os
from pathlib import Path


def tick(x: int, ran: str, o: Path) -> None:
    print(f"tick {x}")
    o.write_text(str(x), encoding="utf-8")
    fd = os.open(ran, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, f"{x}\\n".encode())
    os.close(fd)
"""


def _check_done_tasks_have_logs_and_provenance(work: Path, run_dir: Path) -> int:
    """Every task the journal records as done shows its log and its provenance; how many were done."""
    done = {
        e["item"]: e
        for e in read_journal(run_dir / "journal.jsonl")
        if e.get("t") == "task" and e["state"] == "Succeeded"
    }
    logs = _logs(work, run_dir.name, "t")
    shown = [line for line in logs.splitlines() if line.startswith("t[")]
    by_item = {int(line[2 : line.index("]")]): line for line in shown}
    for item in done:
        assert by_item.get(item) == f"t[{item}]: tick {item}", f"item {item} is done but its log is {by_item.get(item)}"
    sample = sorted(done)[:: max(1, len(done) // 5)]
    for item in sample:
        artifact = run_dir / "tasks" / "t" / f"{item:06d}" / "o.txt"
        result = user_cli("provenance", str(artifact), "--json", cwd=work)
        assert result.returncode == 0, f"item {item}: {result.stderr}"
        (record,) = json.loads(result.stdout)["chain"]
        assert (record["step"], record["item"], record["outputs"][0]["sha256"]) == ("t", item, _sha(artifact))
    return len(done)


def test_a_sigkill_of_an_in_process_fan_out_loses_no_log_or_provenance_of_a_task_recorded_done(
    tmp_path: Path,
) -> None:
    import random

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "ticks.py").write_text(textwrap.dedent(TICKS), encoding="utf-8")
    rng = random.Random(1117)
    for trial in range(3):
        work = tmp_path / f"work{trial}"
        work.mkdir()
        ran = work / "ran.txt"
        path = tmp_path / "specs" / f"p{trial}.yaml"
        path.write_text(
            textwrap.dedent(f"""
                apiVersion: flowyard/v1
                name: ticks
                parameters: {{xs: {{type: list, default: {list(range(8000))}}}}}
                steps:
                  t:
                    for_each: ${{{{ params.xs }}}}
                    python: {{function: "ticks:tick"}}
                    inputs: {{x: "${{{{ item }}}}", ran: "{ran}"}}
                    outputs: {{o: o.txt}}
            """),
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"}
        errors = (work / "stderr.txt").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "flowyard", "run", str(path), "--json"],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
        try:
            deadline = time.time() + 60
            while not (ran.exists() and ran.stat().st_size > 0):
                assert time.time() < deadline and proc.poll() is None, (work / "stderr.txt").read_text()
                time.sleep(0.02)
            time.sleep(rng.uniform(0.05, 0.4))
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            errors.close()
        (run_dir,) = default_runs(work)
        done = _check_done_tasks_have_logs_and_provenance(work, run_dir)
        assert done < 8000, "the run ended before the kill: nothing was tested"
        resumed = user_cli("run", "--resume", run_dir.name, "--json", cwd=work)
        assert resumed.returncode == 0, resumed.stderr
        assert _check_done_tasks_have_logs_and_provenance(work, run_dir) == 8000
        logs = _logs(work, run_dir.name, "t").splitlines()
        assert logs == [f"t[{i}]: tick {i}" for i in range(8000)]  # each task once, even those that ran twice


# --- the S3 store: no more objects per task -------------------------------------------------------------


def test_the_s3_store_gets_two_objects_per_in_process_file_task(tmp_path: Path) -> None:
    """Per task: its artifact and its provenance record (as the seed's container fan-out); its log
    stays in the run folder. Counted on a real S3 server (moto's, on 127.0.0.1)."""
    from .test_s3_store import CREDS, S3Server

    server = S3Server()
    try:
        server.client().create_bucket(Bucket="flowyard")
        pipeline = _pipeline(tmp_path)
        text = pipeline.read_text(encoding="utf-8").replace(
            "steps:\n",
            "store:\n  type: s3\n  endpoint: s3.example:9000\n  bucket: flowyard\n  prefix: runs\n"
            "  access_key: {secret: s3, key: id, env: AWS_ACCESS_KEY_ID}\n"
            "  secret_key: {secret: s3, key: key, env: AWS_SECRET_ACCESS_KEY}\nsteps:\n",
            1,
        )
        pipeline.write_text(text, encoding="utf-8")
        work = tmp_path / "work"
        work.mkdir()
        env = {**CREDS, "FLOWYARD_S3_ENDPOINT_URL": server.endpoint, "AWS_EC2_METADATA_DISABLED": "true"}
        result = user_cli("run", str(pipeline), "--json", cwd=work, env=env)
        assert result.returncode == 0, result.stderr
        run_id = run_json(result)["run_id"]
        listing = server.client().list_objects_v2(Bucket="flowyard", Prefix=f"runs/{run_id}/")
        keys = sorted(o["Key"] for o in listing.get("Contents", []))
        per_task: dict[str, list[str]] = {}
        for key in keys:
            step, item = key.split("/")[3:5]
            per_task.setdefault(f"{step}[{int(item)}]", []).append(key.rsplit("/", 1)[1])
        assert sorted(per_task) == [f"{s}[{i}]" for s in ("copy", "talk") for i in range(4)], keys
        for task, names in per_task.items():
            expected = sorted(["copied.txt" if task.startswith("copy") else "talked.txt", "provenance.json"])
            assert sorted(names) == expected, (task, names)
        assert _logs(work, run_id, "talk", "--item", "0") == (
            "talk[0]: out 0\ntalk[0]: line two of 0\ntalk[0] (stderr): err 0\n"
        )
    finally:
        server.stop()


def test_an_in_process_task_keeps_its_log_and_provenance_in_its_steps_files(tmp_path: Path) -> None:
    """The storage the figure needs: a task's folder holds its artifact alone; the step, two files."""
    status, _ = _run(tmp_path)
    tasks = Path(status["location"]) / "tasks"
    for step, artifact in (("talk", "talked.txt"), ("copy", "copied.txt")):
        assert sorted(p.name for p in (tasks / step).iterdir() if p.is_file()) == (
            ["captured.jsonl", "provenance.jsonl"] if step == "talk" else ["provenance.jsonl"]
        )
        for i in range(4):
            assert [p.name for p in (tasks / step / f"{i:06d}").iterdir()] == [artifact]
    lines = (tasks / "talk" / "provenance.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["item"] for line in lines) == [0, 1, 2, 3]


def test_flowyard_logs_follow_shows_in_process_tasks_lines(tmp_path: Path) -> None:
    """--follow prints what each attempt said as its line arrives (in the order the tasks ended)."""
    status, work = _run(tmp_path)
    followed = user_cli("logs", status["run_id"], "talk", "--follow", cwd=work)
    assert followed.returncode == 0, followed.stderr
    assert sorted(followed.stdout.splitlines()) == sorted(_logs(work, status["run_id"], "talk").splitlines())
    one = user_cli("logs", status["run_id"], "talk", "--item", "3", "--follow", cwd=work)
    assert one.stdout == "talk[3]: out 3\ntalk[3]: line two of 3\ntalk[3] (stderr): err 3\n"


def test_an_attempt_printing_past_a_chunk_goes_to_the_tasks_files_after_the_earlier_attempts(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "loud.py").write_text(
        textwrap.dedent("""
            import os
            import sys
            from pathlib import Path


            def shout(flag: str) -> None:
                if not os.path.exists(flag):
                    Path(flag).write_text("")
                    print("first attempt")
                    print("it fails", file=sys.stderr)
                    raise RuntimeError("once")
                for i in range(1500):
                    print(f"{i:04d}" + "x" * 1019)
        """),
        encoding="utf-8",
    )
    path = tmp_path / "specs" / "loud.yaml"
    path.write_text(
        'apiVersion: flowyard/v1\nname: loud\nsteps:\n  s:\n    python: {function: "loud:shout"}\n'
        f'    inputs: {{flag: "{tmp_path / "flag"}"}}\n    retries: {{limit: 1, backoff: {{duration: 0.01}}}}\n',
        encoding="utf-8",
    )
    work = tmp_path / "work"
    work.mkdir()
    result = user_cli("run", str(path), "--json", cwd=work)
    assert result.returncode == 0, result.stderr
    run_id = run_json(result)["run_id"]
    lines = _logs(work, run_id, "s").splitlines()
    assert lines[:3] == ["s: first attempt", "s: --- attempt 2 ---", "s: 0000" + "x" * 1019]
    assert lines[1502:1504] == ["s (stderr): it fails", "s (stderr): Traceback (most recent call last):"]
    assert lines[-1] == "s (stderr): --- attempt 2 ---" and "s (stderr): RuntimeError: once" in lines
    assert len([line for line in lines if line.startswith("s: ") and line.endswith("x" * 1019)]) == 1500
