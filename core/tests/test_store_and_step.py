from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from flowyard.errors import InfrastructureError
from flowyard.ir import LocalStoreIR, S3StoreIR
from flowyard.provenance import sha256_tree
from flowyard.stepimage.step import StepFunctionError, TaskInput, TaskOutput, TaskSpec, call_function, main
from flowyard.store import open_store


def test_local_store_put_get_list(tmp_path: Path) -> None:
    store = open_store(LocalStoreIR(), local_root=tmp_path / "root")
    src = tmp_path / "f.txt"
    src.write_text("data")
    uri = store.put_file(src, "tasks/a/000001/outputs/o/f.txt")
    assert Path(uri).read_text() == "data"
    store.put_bytes(b"x", "tasks/a/000000/outputs/o/f.txt")
    assert store.list_files("tasks/a") == ["tasks/a/000000/outputs/o/f.txt", "tasks/a/000001/outputs/o/f.txt"]
    store.get_file("tasks/a/000000/outputs/o/f.txt", tmp_path / "back" / "f.txt")
    assert (tmp_path / "back" / "f.txt").read_bytes() == b"x"
    assert store.exists("tasks/a/000000/outputs/o/f.txt")


@pytest.mark.parametrize("key", ["../x", "a/../../x", "a//b"])
def test_store_keys_cannot_escape(tmp_path: Path, key: str) -> None:
    store = open_store(LocalStoreIR(), local_root=tmp_path)
    with pytest.raises(ValueError, match="leaves the store"):
        store.path(key)


def test_unreachable_s3_store_is_an_infrastructure_error(tmp_path: Path) -> None:
    store = open_store(S3StoreIR(bucket="flowyard", endpoint="http://127.0.0.1:9"), local_root=tmp_path, environ={})
    with pytest.raises(InfrastructureError, match="artifact store unavailable"):
        store.check()


def test_tree_digest_depends_on_names_and_content(tmp_path: Path) -> None:
    a = tmp_path / "a"
    (a / "000000").mkdir(parents=True)
    (a / "000000" / "x.json").write_text("1")
    d1, size = sha256_tree(a)
    (a / "000000" / "x.json").write_text("2")
    assert sha256_tree(a)[0] != d1 and size == 1


def test_call_function_passes_inputs_outputs_and_workdir(tmp_path: Path) -> None:
    (tmp_path / "mod_under_test.py").write_text(
        "def f(x, src, out, workdir):\n"
        "    out.write_text(src.read_text() + str(x))\n"
        "    return {'n': x * 2, 'cwd': str(workdir)}\n"
    )
    (tmp_path / "in.txt").write_text("in-")
    values = call_function(
        "mod_under_test:f",
        [
            TaskInput(name="x", type="integer", value=3),
            TaskInput(name="src", type="file", path=str(tmp_path / "in.txt")),
        ],
        [TaskOutput(name="out", type="file", path="out.txt"), TaskOutput(name="res", type="object")],
        tmp_path / "wd",
        python_path=[str(tmp_path)],
    )
    assert values == {"res": {"n": 6, "cwd": str(tmp_path / "wd")}}
    assert (tmp_path / "wd" / "out.txt").read_text() == "in-3"
    sys.modules.pop("mod_under_test", None)


def test_call_function_names_a_missing_argument(tmp_path: Path) -> None:
    (tmp_path / "mod_missing.py").write_text("def f(x, y):\n    return 1\n")
    with pytest.raises(StepFunctionError, match="needs argument 'y'"):
        call_function("mod_missing:f", [TaskInput(name="x", type="any", value=1)], [], tmp_path, [str(tmp_path)])
    sys.modules.pop("mod_missing", None)


def test_step_entrypoint_runs_a_container_command(tmp_path: Path) -> None:
    task = TaskSpec(
        kind="container",
        workdir=str(tmp_path / "wd"),
        argv=(sys.executable, "-c", "import json; json.dump({'a': 1}, open('v.json', 'w'))"),
        outputs=(TaskOutput(name="v", type="object", path="v.json"),),
        result_file=str(tmp_path / "result.json"),
    )
    (tmp_path / "task.json").write_text(task.model_dump_json())
    assert main([str(tmp_path / "task.json")]) == 0
    assert json.loads((tmp_path / "result.json").read_text()) == {"v": {"a": 1}}


def test_step_entrypoint_reports_a_missing_value_output(tmp_path: Path, capsys) -> None:
    task = TaskSpec(
        kind="container",
        workdir=str(tmp_path),
        argv=(sys.executable, "-c", "pass"),
        outputs=(TaskOutput(name="v", type="object", path="v.json"),),
    )
    (tmp_path / "task.json").write_text(task.model_dump_json())
    assert main([str(tmp_path / "task.json")]) == 1
    assert "did not write its value output 'v'" in capsys.readouterr().err


# --- the cluster form of the step entrypoint (python -m flowyard.step exec) -----------------------


@pytest.mark.parametrize(
    ("type_", "encoding", "text", "value"),
    [
        ("string", "rendered", '{"not": "parsed"}', '{"not": "parsed"}'),
        ("object", "rendered", '{"a":1}', {"a": 1}),
        ("number", "rendered", "2.5", 2.5),
        ("any", "rendered", "plain words", "plain words"),
        ("any", "rendered", "[1,2]", [1, 2]),
        ("string", "json", '"quoted"', "quoted"),
    ],
)
def test_decode_value_by_declared_type_and_encoding(type_, encoding, text, value) -> None:
    from flowyard.stepimage.step import decode_value

    assert decode_value(type_, encoding, text) == value


def test_decode_value_errors_name_what_was_expected() -> None:
    from flowyard.stepimage.step import StepFunctionError, decode_value

    with pytest.raises(StepFunctionError, match="expected a number as JSON, got 'abc'"):
        decode_value("number", "rendered", "abc")


def test_collected_envelopes_come_back_in_item_order_with_gaps() -> None:
    from flowyard.stepimage.step import decode_collected, encode_envelope

    texts = [encode_envelope(2, {"x": 1}), encode_envelope(0, "a")]  # unordered, item 1 missing
    assert decode_collected(json.dumps(texts), 3) == ["a", None, {"x": 1}]
    assert decode_collected("", 2) == [None, None]


def test_exec_runs_a_function_and_writes_values_for_the_engine(tmp_path) -> None:
    import subprocess
    import sys

    argv = [sys.executable, "-m", "flowyard.step", "exec", "--kind", "python"]
    argv += ["--function", "flowyard.testing.functions:double", "--workdir", str(tmp_path / "w")]
    argv += ["--value", "x", "number", "rendered", "21", "--output", "out", "number", str(tmp_path / "v" / "out")]
    argv += ["--values-dir", str(tmp_path / "v"), "--index", "000004"]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "v" / "out").read_text()) == {"index": 4, "value": 42}
    bad = subprocess.run([*argv[:-4], "--value", "y", "number", "rendered", "x"], capture_output=True, text=True)
    assert bad.returncode == 1 and "flowyard.step: expected a number" in bad.stderr and "Traceback" not in bad.stderr


def test_dig_reads_object_fields_and_list_indices_the_same_for_every_engine() -> None:
    from flowyard.templates import MissingFieldError, dig

    item = {"event": {"bands": [10, 20]}, "id": "1"}
    assert dig(item, ("event", "bands", "1")) == 20
    assert dig(item, ()) is item
    with pytest.raises(MissingFieldError, match="item has no field 'nope'"):
        dig(item, ("event", "nope"))
    with pytest.raises(MissingFieldError, match="no field '5'"):
        dig(item, ("event", "bands", "5"))
