"""The function-task runtime (the body of the kubeflow backend's components), without kfp: its
arguments are what KFP's executor passes, objects with a ``.path`` for artifacts."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from flowyard._lowering import lower
from flowyard.spec import Container, Input, Output, Parameter, Pipeline, PythonFunction, Step
from flowyard.stepimage.function_task import RECORDS_ENV, ArgRole, FunctionTask, normalise, run_function_task

APPS = [sys.executable, "-m", "flowyard.testing.apps"]


@dataclass
class Art:
    path: str


def spec_of(pipeline: Pipeline, step: str, args: dict[str, ArgRole], **extra) -> str:
    ir = lower(pipeline)
    return FunctionTask(step=ir.step(step), args=args, **extra).model_dump_json()


def test_normalise_restores_integers_kfp_turned_into_doubles() -> None:
    assert normalise({"a": [1.0, 2.5, {"b": 3.0}], "c": True}) == {"a": [1, 2.5, {"b": 3}], "c": True}


def test_a_container_step_gets_its_inputs_in_place_and_its_outputs_copied_out(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(RECORDS_ENV, str(tmp_path / "records"))
    p = Pipeline(
        name="p",
        parameters={"m": Parameter(type="object", default={"msg": "x"})},
        steps={
            "a": Step(
                container=Container(command=[*APPS, "activator", "${{ params.m }}"]),
                outputs={"event": Output(path="activator_event.json")},
            ),
            "b": Step(
                container=Container(command=[*APPS, "processor"]),
                inputs={"event": Input(value="${{ steps.a.outputs.event }}", path="activator_event.json")},
                outputs={"event": Output(path="processor_event.json")},
            ),
        },
    )
    given = tmp_path / "kfp" / "a" / "event"
    given.parent.mkdir(parents=True)
    given.write_text('{"msg": "from a"}')
    out = tmp_path / "kfp" / "for-loop-1-iteration-3" / "b" / "event_output"
    args = {"event": ArgRole(kind="input", name="event"), "event_output": ArgRole(kind="output", name="event")}
    spec = spec_of(p, "b", args, basenames={"event": "activator_event.json"})
    assert run_function_task(spec, {"event": Art(str(given)), "event_output": Art(str(out))}) is None
    assert json.loads(out.read_text()) == {"msg": "from a", "processed": True}
    (record,) = [json.loads(f.read_text()) for f in (tmp_path / "records").glob("*.json")]
    assert record["state"] == "Succeeded" and record["item"] == 3  # from KFP's iteration folder
    assert record["files"] == {"event": str(out)}
    assert record["inputs"][0]["source"] == "steps.a.outputs.event" and record["inputs"][0]["sha256"]
    log = Path(record["log"]).read_text()
    assert '{"msg": "from a"}' in log


def test_a_python_step_reads_a_collected_list_and_json_text_values(tmp_path) -> None:
    p = Pipeline(
        name="p",
        steps={
            "e": Step(
                python=PythonFunction(function="flowyard.testing.functions:emit"),
                for_each=[1, 2],
                inputs={"value": "${{ item }}"},
                outputs={"out": Output(type="any")},
            ),
            "t": Step(
                python=PythonFunction(function="flowyard.testing.functions:emit"),
                inputs={"value": "${{ steps.e.outputs.out }}"},
                outputs={"out": Output(type="list")},
            ),
        },
    )
    out = tmp_path / "out"
    args = {"value": ArgRole(kind="input", name="value"), "out": ArgRole(kind="output", name="out")}
    spec = spec_of(p, "t", args, json_text=("value",))
    run_function_task(spec, {"value": ['"a"', "2.0", None], "out": str(out)})
    assert json.loads(out.read_text()) == ["a", 2.0, None]


def test_fan_in_files_arrive_in_the_cores_folder_layout(tmp_path) -> None:
    p = Pipeline(
        name="p",
        steps={
            "w": Step(
                python=PythonFunction(function="flowyard.testing.functions:write_json"),
                for_each=[1, 2],
                inputs={"value": "${{ item }}"},
                outputs={"out": Output()},
            ),
            "g": Step(
                python=PythonFunction(function="flowyard.testing.functions:gather_json"),
                inputs={"folder": "${{ steps.w.outputs.out }}"},
                outputs={"out": Output(), "count": Output(type="integer")},
            ),
        },
    )
    arts = []
    for i, n in enumerate([10, 20]):
        f = tmp_path / f"w{i}" / "out"
        f.parent.mkdir()
        f.write_text(json.dumps({"n": n}))
        arts.append(Art(str(f)))
    args = {
        "folder": ArgRole(kind="input", name="folder"),
        "out": ArgRole(kind="output", name="out"),
        "count": ArgRole(kind="output", name="count"),
    }
    spec = spec_of(p, "g", args, basenames={"folder": "out"})
    out, count = tmp_path / "g" / "out", tmp_path / "g" / "count"
    run_function_task(spec, {"folder": arts, "out": Art(str(out)), "count": str(count)})
    assert json.loads(out.read_text()) == [{"n": 10}, {"n": 20}]
    assert count.read_text() == "2"


def test_a_failing_step_exits_non_zero_with_a_record_and_no_traceback_in_the_log(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(RECORDS_ENV, str(tmp_path / "records"))
    p = Pipeline(
        name="p",
        steps={"s": Step(container=Container(command=[sys.executable, "-c", "print('dying'); raise SystemExit(4)"]))},
    )
    with pytest.raises(SystemExit) as exc:
        run_function_task(spec_of(p, "s", {}), {})
    assert exc.value.code == 4
    (record,) = [json.loads(f.read_text()) for f in (tmp_path / "records").glob("*.json")]
    assert record["state"] == "Failed" and record["exit_code"] == 4 and record["message"] == "exit code 4"
    assert "dying" in Path(record["log"]).read_text()


def test_the_returned_output_is_given_back_not_written(tmp_path) -> None:
    p = Pipeline(
        name="p",
        steps={
            "m": Step(
                python=PythonFunction(function="flowyard.testing.functions:emit"),
                inputs={"value": Input(value=[1, 2], type="list")},
                outputs={"xs": Output(type="list")},
            )
        },
    )
    assert run_function_task(spec_of(p, "m", {}, returns="xs"), {}) == [1, 2]
