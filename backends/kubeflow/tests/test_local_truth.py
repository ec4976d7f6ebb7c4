"""kfp.local runs that tell the truth (issue 16, item 6): each pipeline here once gave a wrong result,
a traceback or a silent skip on `flowyard run --backend kubeflow`. Run through the CLI from a fresh
folder with no FLOWYARD_HOME, as users run it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowyard._cli import cli

HEAD = 'apiVersion: flowyard/v1\nkind: Pipeline\ndefaults: {image: "img:1"}\n'
FN = "flowyard.testing.functions"


@pytest.fixture(autouse=True)
def _fresh(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    monkeypatch.chdir(tmp_path)


def _spec(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(HEAD + f"name: {name}\n" + body, encoding="utf-8")
    return path


def _run(spec: Path, *args: str) -> tuple[int, dict]:
    r = CliRunner().invoke(cli, ["run", str(spec), "--backend", "kubeflow", "--json", *args])
    assert "Traceback" not in r.output, r.output
    try:
        return r.exit_code, json.loads(r.output)
    except ValueError:
        return r.exit_code, {"text": r.output}


def _states(status: dict) -> dict:
    return {(t["step"], t["item"]): t["status"] for t in status["tasks"]}


def test_python_steps_with_a_relative_runs_folder_run(tmp_path) -> None:
    spec = _spec(tmp_path, "rel", f"steps:\n  e:\n    python: {{function: '{FN}:emit'}}\n    inputs: {{value: 1}}\n")
    code, st = _run(spec)
    assert code == 0 and _states(st) == {("e", None): "Succeeded"}, st


def test_a_step_that_fails_twice_then_succeeds_is_succeeded_after_three_attempts(tmp_path) -> None:
    count = tmp_path / "count"
    script = f'n=$(cat {count} 2>/dev/null || echo 0); echo $((n+1)) > {count}; [ "$n" -ge 2 ]'
    spec = _spec(
        tmp_path,
        "flaky",
        f"steps:\n  flaky:\n    container: {{command: [sh, -c, {json.dumps(script)}]}}\n"
        "    retries: {limit: 3, backoff: {duration: 1, factor: 1}}\n",
    )
    code, st = _run(spec)
    assert code == 0, st
    (task,) = st["tasks"]
    assert task["status"] == "Succeeded" and task["attempts"] == 3


def test_a_condition_on_an_upstream_value_is_not_skipped_silently(tmp_path) -> None:
    spec = _spec(
        tmp_path,
        "cond",
        f"steps:\n  count:\n    python: {{function: '{FN}:emit'}}\n    inputs: {{value: 2}}\n"
        "    outputs: {num: {type: integer}}\n"
        f"  use:\n    when: ${{{{ steps.count.outputs.num }}}} > 0\n    python: {{function: '{FN}:emit'}}\n"
        "    inputs: {value: 'yes'}\n",
    )
    code, st = _run(spec)
    if code == 0:
        assert _states(st)[("use", None)] == "Succeeded"
    else:  # refused by name before it starts
        assert code == 2 and "condition-on-step-output" in st["text"]


def test_a_python_module_beside_the_spec_is_importable_and_sees_the_steps_env(tmp_path) -> None:
    project = tmp_path / "project"
    spec = _spec(
        project,
        "mod",
        "steps:\n  hi:\n    python: {function: 'flowyard_test_mymod:hello'}\n    env: {GREETING: hola}\n"
        "    outputs: {out: {type: string}}\noutputs:\n  out: ${{ steps.hi.outputs.out }}\n",
    )
    (project / "flowyard_test_mymod.py").write_text(
        "import os\ndef hello() -> str:\n    return os.environ.get('GREETING', 'unset')\n", encoding="utf-8"
    )
    code, st = _run(spec)
    assert code == 0, st
    assert st["outputs"] == {"out": "hola"}


def test_failure_policy_stop_omits_the_items_after_a_failure(tmp_path) -> None:
    spec = _spec(
        tmp_path,
        "stop",
        "parameters:\n  xs: {type: list, default: [1, 2, 3, 4, 5, 6]}\n"
        f"steps:\n  each:\n    for_each: ${{{{ params.xs }}}}\n    parallelism: 1\n"
        f"    python: {{function: '{FN}:fail_on'}}\n    inputs: {{value: '${{{{ item }}}}', bad: 2}}\n",
    )
    code, st = _run(spec)
    assert code == 1
    states = _states(st)
    assert states[("each", 1)] == "Failed"
    assert [states[("each", i)] for i in range(2, 6)] == ["Omitted"] * 4


def test_json_null_inside_an_object_or_list_value_survives(tmp_path) -> None:
    spec = _spec(
        tmp_path,
        "nulls",
        "parameters:\n  obj: {type: object, default: {a: null, b: [1, null]}}\n"
        f"steps:\n  e:\n    python: {{function: '{FN}:emit'}}\n    inputs: {{value: '${{{{ params.obj }}}}'}}\n"
        "    outputs: {out: {type: object}}\noutputs:\n  o: ${{ steps.e.outputs.out }}\n",
    )
    code, st = _run(spec)
    if code == 0:
        assert st["outputs"] == {"o": {"a": None, "b": [1, None]}}
    else:
        assert code == 2 and "null" in st["text"]


def test_kfp_placeholder_syntax_in_a_parameter_arrives_as_written(tmp_path) -> None:
    text = "{{$.inputs.parameters['q']}}"
    spec = _spec(
        tmp_path,
        "ph",
        f"parameters:\n  q: {{type: string, default: {json.dumps(text)}}}\n"
        f"steps:\n  e:\n    python: {{function: '{FN}:emit'}}\n    inputs: {{value: '${{{{ params.q }}}}'}}\n"
        "    outputs: {out: {type: string}}\noutputs:\n  o: ${{ steps.e.outputs.out }}\n",
    )
    code, st = _run(spec)
    if code == 0:
        assert st["outputs"] == {"o": text}
    else:
        assert code == 2 and "placeholder" in st["text"]


def test_a_pipeline_output_from_a_conditional_step_is_refused_by_name(tmp_path) -> None:
    spec = _spec(
        tmp_path,
        "condout",
        "parameters:\n  go: {type: bool, default: true}\n"
        f"steps:\n  maybe:\n    when: ${{{{ params.go }}}} == true\n    python: {{function: '{FN}:emit'}}\n"
        "    inputs: {value: 1}\n    outputs: {out: {type: integer}}\noutputs:\n  o: ${{ steps.maybe.outputs.out }}\n",
    )
    r = CliRunner().invoke(cli, ["compile", str(spec), "--backend", "kubeflow"])
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert "output-of-a-conditional-step" in r.output


def test_a_run_time_type_error_fails_the_step_with_its_cause_and_no_colour_codes(tmp_path) -> None:
    spec = _spec(
        tmp_path,
        "typeerr",
        f"steps:\n  a:\n    python: {{function: '{FN}:emit'}}\n    inputs: {{value: abc}}\n"
        "    outputs: {out: {type: any}}\n"
        f"  d:\n    python: {{function: '{FN}:double'}}\n"
        "    inputs: {x: {value: '${{ steps.a.outputs.out }}', type: integer}}\n    outputs: {y: {type: number}}\n",
    )
    code, st = _run(spec)
    assert code == 1, st
    assert _states(st)[("d", None)] == "Failed"
    assert not re.search(r"\x1b\[", json.dumps(st)) and "\\u001b" not in json.dumps(st)
    assert "should be of type" in st["message"]  # the cause, as the local backend words it


def test_a_fan_in_larger_than_one_argument_runs_and_leaves_its_record(tmp_path) -> None:
    """Smoke size: 4 items of 40 KB are more than one argv string may hold (128 KB)."""
    items = [c * 40_000 for c in "abcd"]
    spec = _spec(
        tmp_path,
        "bigfanin",
        f"steps:\n  make:\n    for_each: {json.dumps(items)}\n    python: {{function: '{FN}:emit'}}\n"
        "    inputs: {value: '${{ item }}'}\n    outputs: {out: {type: string}}\n"
        f"  count:\n    python: {{function: '{FN}:emit'}}\n    inputs: {{value: '${{{{ steps.make.outputs.out }}}}'}}\n"
        "    outputs: {all: {type: list}}\noutputs:\n  all: ${{ steps.count.outputs.all }}\n",
    )
    code, st = _run(spec)
    assert code == 0, st
    assert st["outputs"]["all"] == items
    (run_dir,) = (tmp_path / ".flowyard" / "runs").iterdir()
    assert (run_dir / "run.json").exists()


def test_a_fan_out_over_a_gathered_fan_out_is_refused_by_name_on_kfp_local(tmp_path) -> None:
    """Not a per-item chain (the second fan-out waits for a fan-in of the first): the package iterates
    over a sub-pipeline's collected values, which kfp.local cannot ("Parent pipeline input argument
    ... not found")."""
    spec = _spec(
        tmp_path,
        "gathered",
        "parameters:\n  xs: {type: list, default: [1, 2, 3]}\n"
        f"steps:\n  a:\n    for_each: ${{{{ params.xs }}}}\n    python: {{function: '{FN}:double'}}\n"
        "    inputs: {x: '${{ item }}'}\n    outputs: {y: {type: number}}\n"
        f"  t:\n    python: {{function: '{FN}:total'}}\n    inputs: {{xs: '${{{{ steps.a.outputs.y }}}}'}}\n"
        "    outputs: {s: {type: number}}\n"
        f"  b:\n    for_each: ${{{{ steps.a.outputs.y }}}}\n    python: {{function: '{FN}:double'}}\n"
        "    inputs: {x: '${{ item }}'}\n    after: [t]\n",
    )
    code, st = _run(spec)
    assert code == 2 and "fan-out-over-gathered-fan-out" in st["text"], st
