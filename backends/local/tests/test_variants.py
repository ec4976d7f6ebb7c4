"""The seed's two variants, run as users run them."""

from __future__ import annotations

import json
from pathlib import Path

from flowyard.runs import TaskState

from .conftest import EXAMPLES, cli


def test_variant_1_passes_the_event_file(run) -> None:
    status = run(EXAMPLES / "sequential.yaml")
    assert status.state == TaskState.SUCCEEDED
    out = json.loads(Path(status.outputs["event"]).read_text())
    assert out == {"msg": "activator run", "processed": True}


def test_variant_2_with_200_messages_keeps_item_order(run) -> None:
    messages = [{"id": str(i), "event": {"msg": f"run {i}", "n": i}} for i in range(200)]
    status = run(EXAMPLES / "fanout.yaml", {"messages": messages})
    assert status.state == TaskState.SUCCEEDED
    events = status.outputs["events"]
    assert len(events) == 200
    docs = [json.loads(Path(p).read_text()) for p in events]
    assert [d["n"] for d in docs] == list(range(200))
    assert all(d["processed"] for d in docs)
    assert sum(1 for t in status.tasks if t.step == "processor") == 200


def test_python_and_yaml_variants_agree(run) -> None:
    a = run(EXAMPLES / "fanout.yaml")
    b = run(f"{EXAMPLES / 'fanout.py'}:pipeline")
    load = lambda s: [json.loads(Path(p).read_text()) for p in s.outputs["events"]]  # noqa: E731
    assert load(a) == load(b)


def test_readme_command_runs_variant_2(tmp_path: Path) -> None:
    proc = cli("run", str(EXAMPLES / "fanout.yaml"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Status:      Succeeded" in proc.stdout
    assert (tmp_path / ".flowyard" / "runs").is_dir()


def test_json_summary(tmp_path: Path) -> None:
    proc = cli("run", str(EXAMPLES / "sequential.yaml"), "--json", cwd=tmp_path)
    assert proc.stdout.count("\n") == 1  # compact into a pipe
    data = json.loads(proc.stdout)
    assert data["status"] == "Succeeded"
    assert {t["step"] for t in data["tasks"]} == {"activator", "processor"}
    assert data["outputs"]["event"].endswith("processor_event.json")
    assert proc.stderr == ""  # --json is quiet


def test_compile_local_writes_the_ir(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    proc = cli("compile", str(EXAMPLES / "sequential.yaml"), "--backend", "local", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["ir_version"] == "2"


def test_runs_status_logs_provenance_commands(tmp_path: Path) -> None:
    assert cli("run", str(EXAMPLES / "fanout.yaml"), cwd=tmp_path).returncode == 0
    listing = cli("runs", "--json", cwd=tmp_path)
    (row,) = json.loads(listing.stdout)["runs"]
    run_id = row["run_id"]
    assert row["status"] == "Succeeded"
    status = cli("status", run_id, cwd=tmp_path)
    assert "processor[1]" in status.stdout
    logs = cli("logs", run_id, "activator", "--item", "1", cwd=tmp_path)
    assert logs.stdout.strip() == 'activator[1]: {"msg": "activator run 2"}'
    out = next(
        (tmp_path / ".flowyard" / "runs" / run_id / "tasks" / "processor" / "000001").rglob("processor_event.json")
    )
    prov = cli("provenance", str(out), "--json", cwd=tmp_path)
    chain = json.loads(prov.stdout)["chain"]
    assert [(c["depth"], c["step"], c["item"]) for c in chain] == [(0, "processor", 1), (1, "activator", 1)]
    assert chain[1]["command"] == ["activator", '{"msg":"activator run 2"}']
    assert chain[0]["inputs"][0]["sha256"] == chain[1]["outputs"][0]["sha256"]
    pruned = cli("runs", "--prune", "--keep", "0", cwd=tmp_path)
    assert "1 run(s) deleted" in pruned.stdout


def test_provenance_chain_goes_through_value_only_tasks(spec, run) -> None:
    from flowyard.provenance import provenance_chain

    path = spec("""
        name: valchain
        parameters: {xs: {type: list, default: [1, 2]}}
        steps:
          square:
            for_each: ${{ params.xs }}
            python: {function: "steplib:fail_on"}
            inputs: {x: "${{ item }}", bad: {value: []}}
            outputs: {v: {type: integer}}
          write:
            python: {function: "steplib:write_item"}
            inputs: {x: "${{ steps.square.outputs.v }}"}
            outputs: {out: all.json}
        outputs: {out: "${{ steps.write.outputs.out }}"}
    """)
    status = run(path)
    chain = provenance_chain(Path(status.outputs["out"]))
    assert [(d, r.step, r.item) for d, r in chain] == [(0, "write", None), (1, "square", 0), (1, "square", 1)]
    assert [r.outputs[0].value for _, r in chain[1:]] == [10, 20]
    first = chain[1][1]
    assert (first.inputs[0].name, first.inputs[0].value, first.inputs[0].source) == ("x", 1, "item[0]")
    assert first.function == "steplib:fail_on"
    assert first.flowyard_version == chain[0][1].flowyard_version


def test_provenance_files_are_what_the_model_writes(spec, run, monkeypatch) -> None:
    """record_json skips validation for speed; every record a run writes must still be the model's bytes."""
    from flowyard.provenance import ProvenanceRecord

    monkeypatch.setenv("FLOWYARD_TEST_SECRET", "s3cr3t-value")
    path = spec("""
        name: provbytes
        failure_policy: continue
        parameters: {xs: {type: list, default: [0, 1, 2]}}
        steps:
          each:
            for_each: ${{ params.xs }}
            python: {function: "steplib:write_item_unless"}
            inputs: {x: "${{ item }}", bad: {value: [1]}}
            outputs: {out: item.json, v: {type: integer}}
          gather:
            container: {command: [python3, -c, "import os; open('n', 'w').write(str(len(os.listdir('in'))))"]}
            inputs: {files: {value: "${{ steps.each.outputs.out }}", path: in}}
            outputs: {n: n}
            secrets: [{secret: s, key: k, env: FLOWYARD_TEST_SECRET}]
    """)
    status = run(path)
    records = list(Path(status.location or "").rglob("provenance.json"))
    lines = (Path(status.location or "") / "tasks/each/provenance.jsonl").read_bytes().splitlines()
    assert len(records) == 1 and len(lines) == 2  # the fan-in, and the two items that wrote a file (in-process)
    for record in records:
        data = record.read_bytes()
        assert ProvenanceRecord.model_validate_json(data).model_dump_json(indent=1).encode() == data
    for line in lines:
        assert ProvenanceRecord.model_validate_json(line).model_dump_json().encode() == line
    gathered = (Path(status.location or "") / "tasks/gather/provenance.json").read_bytes()
    record = ProvenanceRecord.model_validate_json(gathered)
    assert record.inputs[0].missing_items == (1,) and record.secrets and record.command


def test_json_summary_is_indented_on_a_terminal(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowyard._cli", "run", str(EXAMPLES / "sequential.yaml"), "--json"],
        cwd=tmp_path,
        stdout=secondary,
        stderr=subprocess.DEVNULL,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert proc.wait(timeout=60) == 0
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    assert text.startswith('{\n  "schema_version": 1,\n  "run_id": ')
    assert json.loads(text)["status"] == "Succeeded"
