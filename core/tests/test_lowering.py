"""Lowering: references resolved, defaults applied, names sanitised, graph ordered, problems named."""

from __future__ import annotations

import pytest
from flowyard._loading import load_ir
from flowyard.errors import SpecError
from flowyard.ir import ItemRef, ItemSource, LiteralSource, ParamRef, StepOutputSource, Text

from .conftest import EXAMPLES


def problems(write_spec, text: str) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load_ir(write_spec(text))
    return [f"{p.line}:{p.field}: {p.message}" for p in exc.value.problems]


HEAD = """
apiVersion: flowyard/v1
name: t
"""


def test_fanout_example_ir() -> None:
    ir = load_ir(EXAMPLES / "fanout.yaml")
    act, proc = ir.steps
    assert act.for_each is not None and act.for_each.source.kind == "param"
    assert act.parallelism == 2
    assert act.container is not None
    assert act.container.image == "nasa-hsi" and act.container.workdir == "/workdir"
    assert act.container.command[1].parts == (ItemRef(fields=("event",)),)
    assert proc.for_each is not None and proc.for_each.over_fanout
    assert proc.for_each.source == StepOutputSource(step="activator", output="event", collect=True)
    assert proc.depends_on == ("activator",)
    assert proc.input("event").source == ItemSource()
    assert proc.input("event").type == "file"
    assert ir.outputs[0].source.collect
    assert act.params_used == ("messages",)


def test_fan_in_is_detected_for_values_and_files(write_spec) -> None:
    ir = load_ir(
        write_spec(
            HEAD
            + """
steps:
  a:
    for_each: [1, 2]
    python: {function: "m:f"}
    inputs: {x: "${{ item }}"}
    outputs: {v: {type: number}, f: {}}
  b:
    python: {function: "m:g"}
    inputs: {vs: "${{ steps.a.outputs.v }}", fs: "${{ steps.a.outputs.f }}"}
"""
        )
    )
    b = ir.step("b")
    assert b.input("vs").type == "list" and b.input("vs").source.collect  # type: ignore[union-attr]
    assert b.input("fs").type == "file" and b.input("fs").source.collect  # type: ignore[union-attr]


def test_defaults_apply_and_steps_override(write_spec) -> None:
    ir = load_ir(
        write_spec(
            HEAD
            + """
defaults: {image: base, retries: 2, timeout: 1m30s, env: {A: "1"}, resources: {cpu: 1}}
steps:
  a: {container: {command: [echo]}}
  b: {container: {command: [echo], image: other}, retries: {limit: 5, backoff: {duration: 2s, factor: 3}},
      timeout: 5, env: {B: "2"}}
"""
        )
    )
    a, b = ir.steps
    assert (a.image, a.retry.limit, a.timeout_seconds, a.resources.cpu) == ("base", 2, 90.0, "1")
    assert (b.image, b.retry.limit, b.retry.backoff.duration_seconds, b.retry.backoff.factor) == (
        "other",
        5,
        2.0,
        3.0,
    )
    assert [k for k, _ in b.env] == ["A", "B"]


def test_topological_order_keeps_spec_order_among_equals(write_spec) -> None:
    ir = load_ir(
        write_spec(
            HEAD
            + """
steps:
  z: {container: {command: [echo]}, after: [y]}
  y: {container: {command: [echo]}}
  x: {container: {command: [echo]}}
"""
        )
    )
    assert [s.name for s in ir.steps] == ["y", "x", "z"]


def test_templates_parse_into_text_and_refs(write_spec) -> None:
    ir = load_ir(
        write_spec(
            HEAD
            + """
parameters: {n: {type: integer, default: 3}}
steps:
  a: {container: {command: [echo, "n=${{ params.n }}!", "$${{ literal }}"]}}
"""
        )
    )
    cmd = ir.steps[0].container.command  # type: ignore[union-attr]
    assert cmd[1].parts == (Text(text="n="), ParamRef(name="n"), Text(text="!"))
    assert cmd[2].parts == (Text(text="${{ literal }}"),)


def test_condition_and_on_exit(write_spec) -> None:
    ir = load_ir(
        write_spec(
            HEAD
            + """
parameters: {mode: {default: fast}}
steps:
  a: {container: {command: [echo]}, when: "${{ params.mode }} == 'fast'"}
on_exit:
  container: {command: [echo, "${{ run.status }}"]}
"""
        )
    )
    when = ir.steps[0].when
    assert when is not None and when.op == "==" and when.right == LiteralSource(value="fast")
    assert ir.on_exit is not None and ir.on_exit.dns_name == "on-exit"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            """
steps:
  a: {container: {command: [echo, "${{ item }}"]}}
""",
            "steps.a.container.command.1: ${{ item }} is only defined in a step with for_each",
        ),
        (
            """
steps:
  a: {container: {command: [echo]}, outputs: {o: ../escape.json}}
""",
            "steps.a.outputs.o.path: path '../escape.json' leaves the step's working directory",
        ),
        (
            """
steps:
  a: {container: {command: [echo]}, outputs: {o: /etc/passwd}}
""",
            "steps.a.outputs.o.path: expected a path relative to the step's workdir",
        ),
        (
            """
parameters: {n: {type: integer, default: three}}
steps:
  a: {container: {command: [echo]}}
""",
            "parameters.n.default: expected a default of type integer",
        ),
        (
            """
steps:
  a: {container: {command: [echo, "${{ params.nope }}"]}}
""",
            "no parameter named 'nope'",
        ),
        (
            """
steps:
  a: {container: {command: [echo, "${{ stepz.x }}"]}}
""",
            "unknown reference ${{ stepz.x }}",
        ),
        (
            """
steps:
  a: {container: {command: [echo]}, python: {function: "m:f"}}
""",
            "expected exactly one of 'container' (a command) or 'python' (a function)",
        ),
        (
            """
steps:
  a: {container: {command: [echo]}, parallelism: 2}
""",
            "steps.a.parallelism: a step-level parallelism limit needs for_each",
        ),
        (
            """
parameters: {s: {default: x}}
steps:
  a: {container: {command: [echo]}, for_each: "${{ params.s }}"}
""",
            "parameter 's' is of type string; for_each needs a list",
        ),
        (
            """
steps:
  a: {container: {command: [echo]}, outputs: {v: {type: string}}}
""",
            "give its 'path'",
        ),
        (
            """
steps:
  a: {container: {command: [echo]}, after: [ghost]}
""",
            "steps.a.after.0: no step named 'ghost'",
        ),
        (
            """
steps:
  a: {container: {command: [echo]}, outputs: {o: x}}
  b: {container: {command: [echo, "${{ steps.a.outputs.o }}"]}}
""",
            "take another step's output through an input",
        ),
        (
            """
steps:
  a: {container: {command: [echo]}, outputs: {o: x}}
  b: {container: {command: [echo]}, inputs: {i: "${{ steps.a.outputs.p }}"}}
""",
            "step 'a' has no output 'p' (its outputs: o)",
        ),
        (
            """
steps:
  a: {container: {command: [echo]}, when: "${{ params.x }} ~= 1"}
""",
            "steps.a.when",
        ),
    ],
)
def test_semantic_problems_are_named(write_spec, body: str, expected: str) -> None:
    found = problems(write_spec, HEAD + body)
    assert any(expected in p for p in found), found


def test_problems_carry_the_line(write_spec) -> None:
    found = problems(
        write_spec,
        HEAD
        + """
steps:
  a:
    container:
      command: [echo, "${{ item }}"]
""",
    )
    assert found[0].startswith("7:steps.a.container.command.1")


def test_every_problem_is_reported_at_once(write_spec) -> None:
    found = problems(
        write_spec,
        HEAD
        + """
steps:
  a: {container: {command: [echo, "${{ item }}"]}}
  b: {container: {command: [echo]}, after: [ghost]}
""",
    )
    assert len(found) == 2


def test_cycle_names_the_path(write_spec) -> None:
    found = problems(
        write_spec,
        HEAD
        + """
steps:
  a: {container: {command: [echo]}, after: [c]}
  b: {container: {command: [echo]}, after: [a]}
  c: {container: {command: [echo]}, after: [b]}
""",
    )
    assert any("dependency cycle: a -> c -> b -> a" in p for p in found), found


def test_dns_collision_names_both_steps(write_spec) -> None:
    found = problems(
        write_spec,
        HEAD
        + """
steps:
  Load_Data: {container: {command: [echo]}}
  load.data: {container: {command: [echo]}}
""",
    )
    assert any("'Load_Data' and 'load.data' both become 'load-data'" in p for p in found), found


def test_file_inputs_in_args_need_path(write_spec) -> None:
    found = problems(
        write_spec,
        HEAD
        + """
steps:
  a: {container: {command: [echo]}, outputs: {o: x}}
  b: {container: {command: [cat, "${{ inputs.i }}"]}, inputs: {i: "${{ steps.a.outputs.o }}"}}
""",
    )
    assert any("use ${{ inputs.i.path }}" in p for p in found), found


def test_input_kinds_are_checked_in_env_too(write_spec) -> None:
    found = problems(
        write_spec,
        HEAD
        + """
steps:
  a: {container: {command: [echo]}, outputs: {o: x}}
  b:
    container: {command: [cat]}
    inputs: {i: "${{ steps.a.outputs.o }}", v: 3}
    env: {F: "${{ inputs.i }}", V: "${{ inputs.v.path }}"}
""",
    )
    assert any("steps.b.env.F: input 'i' is a file: use ${{ inputs.i.path }}" in p for p in found), found
    assert any("steps.b.env.V: input 'v' is a value, not a file" in p for p in found), found
