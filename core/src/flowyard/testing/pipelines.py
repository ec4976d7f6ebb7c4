"""Canonical pipelines every backend is checked against, built with the Python API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowyard.spec import Container, Input, Output, Parameter, Pipeline, PythonFunction, Step

F = "flowyard.testing.functions"
SEED_IMAGE = "nasa-hsi"
APPS = ["python3", "-m", "flowyard.testing.apps"]
DEFAULT_MESSAGES: list[dict[str, Any]] = [
    {"id": "1", "event": {"msg": "activator run 1"}},
    {"id": "2", "event": {"msg": "activator run 2"}},
]


def _py(function: str, **fields: object) -> Step:
    return Step.model_validate({"python": PythonFunction(function=f"{F}:{function}"), **fields})


def seed_sequential() -> Pipeline:
    """Variant 1: activator then processor, the event file passed as an artifact."""
    return Pipeline(
        name="seed-sequential",
        parameters={"message": Parameter(type="object", default={"msg": "activator run"})},
        defaults={"image": SEED_IMAGE, "workdir": "/workdir"},
        steps={
            "activator": Step(
                container=Container(command=[*APPS, "activator", "${{ params.message }}"]),
                outputs={"event": Output(path="activator_event.json")},
            ),
            "processor": Step(
                container=Container(command=[*APPS, "processor"]),
                inputs={"event": Input(value="${{ steps.activator.outputs.event }}", path="activator_event.json")},
                outputs={"event": Output(path="processor_event.json")},
            ),
        },
        outputs={"event": "${{ steps.processor.outputs.event }}"},
    )


def seed_fanout(messages: list[dict[str, object]] | None = None) -> Pipeline:
    """Variant 2: activator per message (at most 2 at once), processor per activator output."""
    return Pipeline(
        name="seed-fanout",
        parameters={"messages": Parameter(type="list", default=messages or DEFAULT_MESSAGES)},
        defaults={"image": SEED_IMAGE, "workdir": "/workdir"},
        steps={
            "activator": Step(
                for_each="${{ params.messages }}",
                parallelism=2,
                container=Container(command=[*APPS, "activator", "${{ item.event }}"]),
                outputs={"event": Output(path="activator_event.json")},
            ),
            "processor": Step(
                for_each="${{ steps.activator.outputs.event }}",
                container=Container(command=[*APPS, "processor"]),
                inputs={"event": Input(value="${{ item }}", path="activator_event.json")},
                outputs={"event": Output(path="processor_event.json")},
            ),
        },
        outputs={"events": "${{ steps.processor.outputs.event }}"},
    )


def diamond() -> Pipeline:
    """a -> (b, c) -> d, values only."""
    return Pipeline(
        name="diamond",
        parameters={"x": Parameter(type="number", default=1)},
        steps={
            "a": _py("emit", inputs={"value": "${{ params.x }}"}, outputs={"out": Output(type="number")}),
            "b": _py("double", inputs={"x": "${{ steps.a.outputs.out }}"}, outputs={"out": Output(type="number")}),
            "c": _py("double", inputs={"x": "${{ steps.a.outputs.out }}"}, outputs={"out": Output(type="number")}),
            "d": _py(
                "emit",
                inputs={"value": "${{ steps.b.outputs.out }}"},
                after=["c"],
                outputs={"out": Output(type="number")},
            ),
        },
        outputs={"result": "${{ steps.d.outputs.out }}"},
    )


def fan_in_values() -> Pipeline:
    """Fan out over a list parameter, then sum the values in one step."""
    return Pipeline(
        name="fan-in-values",
        parameters={"xs": Parameter(type="list", default=[1, 2, 3])},
        steps={
            "double": _py(
                "double",
                for_each="${{ params.xs }}",
                inputs={"x": "${{ item }}"},
                outputs={"out": Output(type="number")},
            ),
            "total": _py(
                "total",
                inputs={"xs": "${{ steps.double.outputs.out }}"},
                outputs={"out": Output(type="number")},
            ),
        },
        outputs={"total": "${{ steps.total.outputs.out }}"},
    )


def fan_out_over_output() -> Pipeline:
    """A step emits a list; the next fans out over it."""
    return Pipeline(
        name="fan-out-over-output",
        steps={
            "make": _py(
                "emit",
                inputs={"value": Input(value=[10, 20, 30], type="list")},
                outputs={"xs": Output(type="list")},
            ),
            "double": _py(
                "double",
                for_each="${{ steps.make.outputs.xs }}",
                inputs={"x": "${{ item }}"},
                outputs={"out": Output(type="number")},
            ),
        },
        outputs={"doubled": "${{ steps.double.outputs.out }}"},
    )


def fan_in_files() -> Pipeline:
    """Each item writes a file; one step reads the folder of them in item order."""
    return Pipeline(
        name="fan-in-files",
        parameters={"docs": Parameter(type="list", default=[{"n": 1}, {"n": 2}, {"n": 3}])},
        steps={
            "write": _py(
                "write_json",
                for_each="${{ params.docs }}",
                parallelism=2,
                inputs={"value": "${{ item }}"},
                outputs={"out": Output()},
            ),
            "gather": _py(
                "gather_json",
                inputs={"folder": "${{ steps.write.outputs.out }}"},
                outputs={"out": Output(), "count": Output(type="integer")},
            ),
        },
        outputs={"all": "${{ steps.gather.outputs.out }}"},
    )


def sanitised_names() -> Pipeline:
    """Step names that are not DNS-1123 and must be sanitised (without colliding)."""
    return Pipeline(
        name="Sanitised_Names",
        steps={
            "Load_Data": _py("emit", inputs={"value": "x"}, outputs={"out": Output(type="string")}),
            "Transform_V2": _py(
                "emit",
                inputs={"value": "${{ steps.Load_Data.outputs.out }}"},
                outputs={"out": Output(type="string")},
            ),
        },
    )


def parallel_limits() -> Pipeline:
    """A pipeline-wide limit over two fanned-out steps, one with a tighter limit of its own."""
    return Pipeline(
        name="parallel-limits",
        parallelism=2,
        steps={
            "a": _py(
                "double",
                for_each=[1, 2, 3, 4],
                parallelism=1,
                inputs={"x": "${{ item }}"},
                outputs={"out": Output(type="number")},
            ),
            "b": _py("double", for_each=[5, 6, 7], inputs={"x": "${{ item }}"}, outputs={"out": Output(type="number")}),
        },
        outputs={"a": "${{ steps.a.outputs.out }}", "b": "${{ steps.b.outputs.out }}"},
    )


def retries() -> Pipeline:
    """Retries with backoff and a timeout on a step that succeeds."""
    return Pipeline(
        name="retries",
        steps={
            "s": _py(
                "emit",
                inputs={"value": "ok"},
                outputs={"out": Output(type="string")},
                retries={"limit": 2, "backoff": {"duration": "1s", "factor": 2, "max_duration": "10s"}},
                timeout="5m",
            ),
        },
        outputs={"out": "${{ steps.s.outputs.out }}"},
    )


def _failing_item(policy: str) -> Pipeline:
    return Pipeline(
        name=f"failing-item-{policy}",
        failure_policy=policy,
        steps={
            "items": _py(
                "fail_on",
                for_each=[0, 1, 2],
                parallelism=1,
                inputs={"value": "${{ item }}", "bad": 1},
                outputs={"out": Output(type="integer")},
            ),
            "after": _py(
                "emit", inputs={"value": "${{ steps.items.outputs.out }}"}, outputs={"out": Output(type="list")}
            ),
        },
        outputs={"all": "${{ steps.after.outputs.out }}"},
    )


def failing_item_stop() -> Pipeline:
    """Item 1 fails: nothing new starts, so item 2 and the fan-in step never run."""
    return _failing_item("stop")


def failing_item_continue() -> Pipeline:
    """Item 1 fails: the other items finish, and the fan-in step gets null in its place."""
    return _failing_item("continue")


def condition_and_exit() -> Pipeline:
    """A false condition skips a step; the on-exit step runs last and sees the run's status."""
    return Pipeline(
        name="condition-and-exit",
        parameters={"mode": Parameter(default="slow")},
        defaults={"image": SEED_IMAGE},
        steps={
            "fast": _py("emit", inputs={"value": 1}, when="${{ params.mode }} == 'fast'"),
            "always": _py("emit", inputs={"value": 2}, after=["fast"], outputs={"out": Output(type="integer")}),
        },
        on_exit=Step(container=Container(command=[*APPS, "echo", "${{ run.status }}"])),
        outputs={"always": "${{ steps.always.outputs.out }}"},
    )


def wide_fanout(n: int = 1000) -> Pipeline:
    """A 1,000-item fan-out: compiled everywhere, run where it is cheap."""
    return Pipeline(
        name="wide-fanout",
        parameters={"xs": Parameter(type="list", default=list(range(n)))},
        steps={
            "double": _py(
                "double",
                for_each="${{ params.xs }}",
                inputs={"x": "${{ item }}"},
                outputs={"out": Output(type="number")},
            )
        },
        outputs={"out": "${{ steps.double.outputs.out }}"},
    )


TRICKY = 'it\'s "quoted" — ünïcödé 🚀\nsecond line $(not a shell) `nor this` ${HOME}'


def tricky_params() -> Pipeline:
    """A parameter with quotes, a newline, non-ASCII and shell syntax reaches the command byte for byte."""
    return Pipeline(
        name="tricky-params",
        parameters={"text": Parameter(default=TRICKY)},
        defaults={"image": SEED_IMAGE},
        steps={
            "echo": Step(
                container=Container(command=[*APPS, "echo", "${{ params.text }}"]),
                outputs={"doc": Output(path="echo.json")},
            ),
        },
        outputs={"doc": "${{ steps.echo.outputs.doc }}"},
    )


CANONICAL_PIPELINES: dict[str, Callable[[], Pipeline]] = {
    "seed-sequential": seed_sequential,
    "seed-fanout": seed_fanout,
    "diamond": diamond,
    "fan-in-values": fan_in_values,
    "fan-out-over-output": fan_out_over_output,
    "fan-in-files": fan_in_files,
    "sanitised-names": sanitised_names,
    "parallel-limits": parallel_limits,
    "retries": retries,
    "failing-item-stop": failing_item_stop,
    "failing-item-continue": failing_item_continue,
    "condition-and-exit": condition_and_exit,
    "wide-fanout": wide_fanout,
    "tricky-params": tricky_params,
}

# What a correct run produces: pipeline outputs, files read back as parsed JSON (see
# ``BackendContract.test_runs_produce_the_expected_documents``). None: compile-only here.
EXPECTED_OUTPUTS: dict[str, dict[str, object] | None] = {
    "seed-sequential": {"event": {"msg": "activator run", "processed": True}},
    "seed-fanout": {
        "events": [{"msg": "activator run 1", "processed": True}, {"msg": "activator run 2", "processed": True}]
    },
    "diamond": {"result": 2},
    "fan-in-values": {"total": 12.0},
    "fan-out-over-output": {"doubled": [20, 40, 60]},
    "fan-in-files": {"all": [{"n": 1}, {"n": 2}, {"n": 3}]},
    "sanitised-names": {},
    "parallel-limits": {"a": [2, 4, 6, 8], "b": [10, 12, 14]},
    "retries": {"out": "ok"},
    "failing-item-stop": {"all": None},
    "failing-item-continue": {"all": [0, None, 2]},
    "condition-and-exit": {"always": 2},
    "wide-fanout": None,
    "tricky-params": {"doc": {"text": TRICKY}},
}
EXPECTED_STATUS: dict[str, str] = {"failing-item-stop": "Failed", "failing-item-continue": "Failed"}


def canonical_pipeline(name: str) -> Pipeline:
    return CANONICAL_PIPELINES[name]()
