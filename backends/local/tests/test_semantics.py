"""The cluster semantics, held exactly: parallelism, fan-in, failures, retries, timeouts, conditions."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from flowyard.logs import read_run_logs
from flowyard.runs import RunDirectory, TaskState, read_journal

from .conftest import overlap


def intervals(log: Path) -> list[tuple[float, float]]:
    return [tuple(json.loads(line)[:2]) for line in log.read_text().splitlines()]  # type: ignore[misc]


@pytest.mark.parametrize(
    ("step_limit", "pipeline_limit", "expected", "items", "pause"),
    [
        (2, None, 2, 12, 0.1),
        (3, 2, 2, 12, 0.1),
        (None, 3, 3, 12, 0.1),
        (2, None, 2, 300, 0.002),  # fast items go to workers in batches; a batch holds one slot
    ],
)
def test_parallelism_limits_hold_at_every_instant(
    spec, run, tmp_path, step_limit, pipeline_limit, expected, items, pause
) -> None:
    log = tmp_path / "times.jsonl"
    path = spec(f"""
        name: par
        {f"parallelism: {pipeline_limit}" if pipeline_limit else ""}
        steps:
          work:
            for_each: {list(range(items))}
            {f"parallelism: {step_limit}" if step_limit else ""}
            python: {{function: "steplib:record"}}
            inputs: {{log: "{log}", x: "${{{{ item }}}}", pause: {pause}}}
    """)
    status = run(path, options={"workers": 8})
    assert status.state == TaskState.SUCCEEDED
    assert sorted(x for *_, x in map(json.loads, log.read_text().splitlines())) == list(range(items))
    assert overlap(intervals(log)) == expected


def test_pipeline_limit_spans_steps(spec, run, tmp_path) -> None:
    log = tmp_path / "times.jsonl"
    path = spec(f"""
        name: par2
        parallelism: 3
        steps:
          a: {{for_each: [1, 2, 3, 4], python: {{function: "steplib:record"}}, inputs: {{log: "{log}"}}}}
          b: {{for_each: [1, 2, 3, 4], python: {{function: "steplib:record"}}, inputs: {{log: "{log}"}}}}
    """)
    assert run(path, options={"workers": 8}).state == TaskState.SUCCEEDED
    assert overlap(intervals(log)) == 3


def test_container_steps_parallelism(spec, run, tmp_path) -> None:
    log = tmp_path / "c.log"
    path = spec(f"""
        name: cpar
        steps:
          s:
            for_each: [1, 2, 3, 4, 5, 6]
            parallelism: 2
            container:
              command: [python3, -c, "import json,sys,time; s=time.time(); time.sleep(0.25); print(json.dumps([s, time.time()]), file=open(sys.argv[1], 'a'))", "{log}"]
    """)
    assert run(path, options={"workers": 6}).state == TaskState.SUCCEEDED
    assert overlap([tuple(json.loads(x)) for x in log.read_text().splitlines()]) == 2  # type: ignore[misc]


FAN_IN = """
    name: fanin
    failure_policy: continue
    steps:
      produce:
        for_each: [0, 1, 2, 3]
        python: {function: "steplib:fail_on"}
        inputs: {x: "${{ item }}", bad: {value: [2]}}
        outputs: {v: {type: integer}}
      files:
        for_each: [0, 1, 2, 3]
        python: {function: "steplib:write_item"}
        inputs: {x: "${{ item }}"}
        outputs: {out: item.json}
      gather:
        python: {function: "steplib:echo"}
        inputs: {value: "${{ steps.produce.outputs.v }}"}
        outputs: {all: {type: list}}
      folder:
        python: {function: "steplib:list_folder"}
        inputs: {folder: "${{ steps.files.outputs.out }}"}
        outputs: {names: {type: list}}
    outputs:
      all: ${{ steps.gather.outputs.all }}
      names: ${{ steps.folder.outputs.names }}
"""


def test_fan_in_in_item_order_with_failed_items(spec, run) -> None:
    status = run(spec(FAN_IN))
    assert status.state == TaskState.FAILED  # an item failed
    assert status.outputs["all"] == [0, 10, None, 30]
    assert status.outputs["names"] == ["000000/item.json", "000001/item.json", "000002/item.json", "000003/item.json"]
    produce = {t.item: t.state for t in status.tasks if t.step == "produce"}
    assert produce == {0: TaskState.SUCCEEDED, 1: TaskState.SUCCEEDED, 2: TaskState.FAILED, 3: TaskState.SUCCEEDED}
    assert "item 2 fails on purpose" in status.message
    from flowyard.provenance import record_from_journal
    from flowyard.runs import read_journal

    run_dir = Path(status.location or "")
    (event,) = [e for e in read_journal(run_dir / "journal.jsonl") if e.get("step") == "gather"]
    (inp,) = record_from_journal(run_dir, event).inputs
    assert (inp.name, inp.missing_items) == ("value", (2,))  # a value-only task's rebuilt record lists them too


def test_fan_in_of_files_misses_failed_items_and_lists_them(spec, run) -> None:
    path = spec("""
        name: fanin-files
        failure_policy: continue
        steps:
          files:
            for_each: [0, 1, 2]
            container:
              command: [python3, -c, "import sys; x=int(sys.argv[1]); assert x != 1; open('o.txt','w').write(str(x))", "${{ item }}"]
            outputs: {o: o.txt}
          gather:
            container: {command: [python3, -c, "import os; open('n.txt', 'w').write(' '.join(sorted(os.listdir('in'))))"]}
            inputs: {folder: {value: "${{ steps.files.outputs.o }}", path: in}}
            outputs: {n: n.txt}
        outputs: {n: "${{ steps.gather.outputs.n }}"}
    """)
    status = run(path)
    assert Path(status.outputs["n"]).read_text() == "000000 000002"
    record = json.loads((Path(status.location or "") / "tasks/gather/provenance.json").read_text())
    (folder,) = record["inputs"]
    assert (folder["source"], folder["missing_items"]) == ("steps.files.outputs.o[*]", [1])


def test_fan_out_over_fan_out_waits_and_omits_failed_items(spec, run, tmp_path) -> None:
    log = tmp_path / "t.jsonl"
    path = spec(f"""
        name: ff
        failure_policy: continue
        steps:
          first:
            for_each: [0, 1, 2, 3]
            python: {{function: "steplib:fail_on"}}
            inputs: {{x: "${{{{ item }}}}", bad: {{value: [1]}}}}
            outputs: {{v: {{type: integer}}}}
          second:
            for_each: ${{{{ steps.first.outputs.v }}}}
            python: {{function: "steplib:record"}}
            inputs: {{log: "{log}", x: "${{{{ item }}}}", pause: 0}}
            outputs: {{r: {{type: any}}}}
        outputs: {{r: "${{{{ steps.second.outputs.r }}}}"}}
    """)
    status = run(path)
    second = {t.item: t.state for t in status.tasks if t.step == "second"}
    assert second == {0: TaskState.SUCCEEDED, 1: TaskState.OMITTED, 2: TaskState.SUCCEEDED, 3: TaskState.SUCCEEDED}
    assert status.outputs["r"] == [0, None, 20, 30]
    first_end = max(t.finished_at for t in status.tasks if t.step == "first")
    assert min(s for s, _ in intervals(log)) >= first_end  # waited for the whole first fan-out


def test_stop_policy_omits_what_had_not_started(spec, run) -> None:
    path = spec("""
        name: stop
        steps:
          a:
            for_each: [0, 1, 2, 3, 4, 5]
            parallelism: 1
            python: {function: "steplib:fail_on"}
            inputs: {x: "${{ item }}", bad: {value: [1]}}
          b: {python: {function: "steplib:echo"}, inputs: {value: 1}, after: [a]}
    """)
    status = run(path)
    states = {(t.step, t.item): t.state for t in status.tasks}
    assert states[("a", 0)] == TaskState.SUCCEEDED
    assert states[("a", 1)] == TaskState.FAILED
    assert all(states[("a", i)] == TaskState.OMITTED for i in range(2, 6))
    assert states[("b", None)] == TaskState.OMITTED
    assert status.exit_code == 1


def test_stop_policy_in_a_batch_leaves_the_rest_unrun_and_omitted(spec, run, tmp_path) -> None:
    log = tmp_path / "ran.log"
    path = spec(f"""
        name: stopfast
        steps:
          a:
            for_each: {list(range(2000))}
            parallelism: 2
            python: {{function: "steplib:log_then_fail_on"}}
            inputs: {{log: "{log}", x: "${{{{ item }}}}", bad: {{value: [1000]}}}}
    """)
    status = run(path)
    states = {t.item: t.state for t in status.tasks}
    ran = {int(line) for line in log.read_text().split()}
    assert states[1000] == TaskState.FAILED
    assert {i for i, s in states.items() if s == TaskState.SUCCEEDED} == ran - {1000}
    omitted = {i for i, s in states.items() if s == TaskState.OMITTED}
    assert omitted == set(range(2000)) - ran
    assert len(omitted) > 500  # the batches in flight stopped; nothing new started
    assert status.exit_code == 1


def test_continue_policy_lets_other_branches_finish(spec, run) -> None:
    path = spec("""
        name: cont
        failure_policy: continue
        steps:
          bad: {python: {function: "steplib:fail_on"}, inputs: {x: 1, bad: {value: [1]}}, outputs: {v: {type: integer}}}
          after_bad: {python: {function: "steplib:echo"}, inputs: {value: "${{ steps.bad.outputs.v }}"}}
          other: {python: {function: "steplib:echo"}, inputs: {value: 2}, outputs: {v: {type: integer}}}
          after_other: {python: {function: "steplib:echo"}, inputs: {value: "${{ steps.other.outputs.v }}"}}
    """)
    status = run(path)
    states = {t.step: t.state for t in status.tasks}
    assert states == {
        "bad": TaskState.FAILED,
        "after_bad": TaskState.OMITTED,
        "other": TaskState.SUCCEEDED,
        "after_other": TaskState.SUCCEEDED,
    }
    assert status.state == TaskState.FAILED


def test_condition_skips_and_ordering_continues(spec, run) -> None:
    path = spec("""
        name: cond
        parameters: {mode: {default: slow}}
        steps:
          fast: {python: {function: "steplib:echo"}, inputs: {value: 1}, when: "${{ params.mode }} == 'fast'"}
          always: {python: {function: "steplib:echo"}, inputs: {value: 1}, after: [fast]}
    """)
    status = run(path)
    states = {t.step: t.state for t in status.tasks}
    assert states == {"fast": TaskState.SKIPPED, "always": TaskState.SUCCEEDED}
    assert status.state == TaskState.SUCCEEDED
    status = run(path, {"mode": "fast"})
    assert {t.step: t.state for t in status.tasks}["fast"] == TaskState.SUCCEEDED


def test_condition_on_an_upstream_value(spec, run) -> None:
    path = spec("""
        name: cond2
        steps:
          n: {python: {function: "steplib:echo"}, inputs: {value: 5}, outputs: {v: {type: integer}}}
          big: {python: {function: "steplib:echo"}, inputs: {value: 1}, when: "${{ steps.n.outputs.v }} > 3"}
          small: {python: {function: "steplib:echo"}, inputs: {value: 1}, when: "${{ steps.n.outputs.v }} <= 3"}
    """)
    states = {t.step: t.state for t in run(path).tasks}
    assert (states["big"], states["small"]) == (TaskState.SUCCEEDED, TaskState.SKIPPED)


def test_on_exit_runs_after_failure_and_sees_the_status(spec, run, tmp_path) -> None:
    marker = tmp_path / "exit.txt"
    path = spec(f"""
        name: onexit
        steps:
          bad: {{container: {{command: [python3, -c, "raise SystemExit(3)"]}}}}
        on_exit:
          container: {{command: [python3, -c, "import sys; open(sys.argv[1], 'w').write(sys.argv[2])", "{marker}", "${{{{ run.status }}}}"]}}
    """)
    status = run(path)
    assert marker.read_text() == "Failed"
    assert [t.step for t in status.tasks][-1] == "on_exit"
    assert status.tasks[0].exit_code == 3
    assert status.state == TaskState.FAILED


def test_retries_count_re_tries_with_backoff(spec, run, tmp_path) -> None:
    counter = tmp_path / "n"
    path = spec(f"""
        name: retry
        steps:
          flaky:
            python: {{function: "steplib:flaky"}}
            inputs: {{counter: "{counter}", succeed_on: 3}}
            retries: {{limit: 2, backoff: {{duration: 0.05, factor: 2}}}}
            outputs: {{n: {{type: integer}}}}
    """)
    t0 = time.time()
    status = run(path)
    assert status.state == TaskState.SUCCEEDED
    assert status.tasks[0].attempts == 3
    assert time.time() - t0 >= 0.15  # 0.05 + 0.10 of backoff
    counter.unlink()
    path = spec(path.read_text().split("\n", 1)[1].replace("limit: 2", "limit: 1"), "p2.yaml")
    status = run(path)
    assert status.state == TaskState.FAILED
    assert status.tasks[0].attempts == 2
    assert "after 2 attempts" in status.tasks[0].message


@pytest.mark.parametrize("command", [False, True])
def test_a_retry_never_passes_off_an_earlier_attempts_output(spec, run, tmp_path, command) -> None:
    """Each attempt starts without the outputs an earlier one wrote (a new pod starts empty too)."""
    flag = tmp_path / "flag"
    script = (
        "import os, sys; f = sys.argv[1]; first = not os.path.exists(f); open(f, 'a').close(); "
        "first and open('o.txt', 'w').write('x'); sys.exit(1 if first else 0)"
    )
    how = (
        f'container: {{command: [python3, -c, "{script}", "{flag}"]}}'
        if command
        else 'python: {function: "steplib:write_then_fail_first_time"}'
    )
    inputs = "" if command else f'inputs: {{flag: "{flag}"}}'
    path = spec(f"""
        name: stale
        steps:
          s:
            {how}
            {inputs}
            retries: {{limit: 1, backoff: {{duration: 0}}}}
            outputs: {{out: o.txt}}
    """)
    status = run(path)
    assert status.tasks[0].attempts == 2
    assert status.state == TaskState.FAILED
    assert "did not write its output 'out'" in status.tasks[0].message


@pytest.mark.parametrize("out_path", ["o.txt", "stdout.log", "in/o.txt", "deep/er/o.txt"])
def test_function_files_go_beside_the_task_files_unless_they_would_meet(spec, run, out_path) -> None:
    """A function without a workdir writes in the task's folder; a path that would land on the
    runner's own files (its logs, in/, ...) goes to work/ instead, and both stay intact."""
    path = spec(f"""
        name: beside
        steps:
          s: {{python: {{function: "steplib:log_and_write"}}, outputs: {{out: "{out_path}"}}}}
        outputs: {{o: "${{{{ steps.s.outputs.out }}}}"}}
    """)
    status = run(path)
    assert status.state == TaskState.SUCCEEDED, status.message
    task_dir = Path(status.location or "") / "tasks" / "s"
    meets = out_path in ("stdout.log", "in/o.txt")
    assert Path(status.outputs["o"]) == (task_dir / "work" if meets else task_dir) / out_path
    assert Path(status.outputs["o"]).read_text() == "the output"
    assert list(read_run_logs(RunDirectory(Path(status.location or "")), "s")) == ["s: to stdout"]
    assert (task_dir / "work").exists() == meets


def test_timeout_kills_the_whole_process_group(spec, run, tmp_path) -> None:
    pidfile = tmp_path / "child.pid"
    path = spec(f"""
        name: timeout
        steps:
          slow:
            timeout: 0.5
            container:
              command: [sh, -c, "sleep 30 & echo $! > {pidfile}; wait"]
    """)
    t0 = time.time()
    status = run(path)
    assert time.time() - t0 < 10
    assert status.tasks[0].state == TaskState.FAILED
    assert "timed out after 0.5s" in status.tasks[0].message
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_python_step_with_timeout_runs_in_a_subprocess(spec, run) -> None:
    path = spec("""
        name: pytimeout
        steps:
          slow:
            timeout: 0.5
            python: {function: "steplib:wait_for"}
            inputs: {path: /nonexistent/never}
    """)
    t0 = time.time()
    status = run(path)
    assert time.time() - t0 < 10
    assert "timed out" in status.tasks[0].message


def test_fan_out_over_an_upstream_list_and_item_fields(spec, run) -> None:
    path = spec("""
        name: items
        steps:
          make: {python: {function: "steplib:echo"}, inputs: {value: {value: [{"a": {"b": 1}}, {"a": {"b": 2}}]}}, outputs: {xs: {type: list}}}
          use:
            for_each: ${{ steps.make.outputs.xs }}
            python: {function: "steplib:echo"}
            inputs: {value: "${{ item.a.b }}"}
            outputs: {v: {type: integer}}
        outputs: {v: "${{ steps.use.outputs.v }}"}
    """)
    assert run(path).outputs["v"] == [1, 2]


def test_missing_item_field_is_a_clear_task_error(spec, run) -> None:
    path = spec("""
        name: nofield
        steps:
          s: {for_each: [{"a": 1}], container: {command: [echo, "${{ item.b }}"]}}
    """)
    status = run(path)
    assert status.tasks[0].state == TaskState.ERROR
    assert "item has no field 'b'" in status.tasks[0].message


def test_missing_output_file_fails_the_task(spec, run) -> None:
    path = spec("""
        name: noout
        steps:
          s: {container: {command: ["true"]}, outputs: {o: o.txt}}
    """)
    status = run(path)
    assert status.tasks[0].state == TaskState.FAILED
    assert "did not write its output 'o' at o.txt" in status.tasks[0].message


def test_command_not_found_names_where_it_looked(spec, run) -> None:
    status = run(spec("name: nf\nsteps:\n  s: {container: {command: [no-such-command-xyz]}}\n"))
    assert "command not found: 'no-such-command-xyz'" in status.tasks[0].message
    assert status.tasks[0].exit_code == 127


def test_placeholder_paths_for_inputs_and_outputs(spec, run) -> None:
    path = spec("""
        name: ph
        steps:
          a:
            container: {command: [python3, -c, "import sys; open(sys.argv[1], 'w').write('hi')", "${{ outputs.o.path }}"]}
            outputs: {o: {}}
          b:
            container: {command: [python3, -c, "import sys; open(sys.argv[2], 'w').write(open(sys.argv[1]).read() + '!')", "${{ inputs.i.path }}", "${{ outputs.o.path }}"]}
            inputs: {i: "${{ steps.a.outputs.o }}"}
            outputs: {o: {}}
        outputs: {o: "${{ steps.b.outputs.o }}"}
    """)
    status = run(path)
    assert Path(status.outputs["o"]).read_text() == "hi!"


def test_functions_read_upstream_files_in_place_and_commands_get_copies(spec, run) -> None:
    path = spec("""
        name: inplace
        steps:
          a: {python: {function: "steplib:write_item"}, inputs: {x: 1}, outputs: {out: a.json}}
          f: {python: {function: "steplib:where"}, inputs: {f: "${{ steps.a.outputs.out }}"}, outputs: {p: {type: string}}}
          c:
            container: {command: [python3, -c, "import sys; print(sys.argv[1])", "${{ inputs.f.path }}"]}
            inputs: {f: "${{ steps.a.outputs.out }}"}
    """)
    status = run(path)
    run_dir = Path(status.location or "")
    published = run_dir / "tasks/a/a.json"  # a function without a workdir writes in the task's folder
    assert json.loads(published.read_text()) == {"x": 1}
    (f_event,) = [e for e in read_journal(run_dir / "journal.jsonl") if e.get("step") == "f"]
    assert f_event["values"]["p"] == str(published)  # the upstream's own file: no copy
    assert not (run_dir / "tasks/f/in").exists()
    copy = Path((run_dir / "tasks/c/stdout.log").read_text().strip())
    assert copy == run_dir / "tasks/c/in/f/a.json" and copy.read_text() == published.read_text()


def test_value_outputs_of_container_steps_are_json_files(spec, run) -> None:
    path = spec("""
        name: vals
        steps:
          a:
            container: {command: [python3, -c, "import json; json.dump({'k': [1, 2]}, open('v.json', 'w'))"]}
            outputs: {v: {type: object, path: v.json}}
          b:
            container: {command: [python3, -c, "import json; json.dump(3, open('v.json', 'w'))"]}
            outputs: {v: {type: string, path: v.json}}
        outputs: {a: "${{ steps.a.outputs.v }}"}
    """)
    status = run(path)
    assert status.outputs["a"] == {"k": [1, 2]}
    b = next(t for t in status.tasks if t.step == "b")
    assert "should be of type string" in b.message


def test_run_json_holds_task_status_fields_only(spec, run) -> None:
    """The runner's results are the run's TaskStatuses; what the runner keeps beside them (values,
    files, fan-in gaps) stays out of run.json, which reads back into the same statuses."""
    from dataclasses import asdict, fields

    from flowyard.runs import RunDirectory, RunStatus, TaskStatus

    path = spec("""
        name: keep
        steps:
          a:
            container: {command: [sh, -c, "echo hi > f.txt; echo 3 > n.txt"]}
            outputs: {f: {type: file, path: f.txt}, n: {type: integer, path: n.txt}}
    """)
    status = run(path)
    raw = json.loads((RunDirectory(Path(status.location)).path / "run.json").read_text())
    names = {f.name for f in fields(TaskStatus)}
    assert [set(t) for t in raw["tasks"]] == [names]
    again = RunStatus.model_validate(raw)
    assert [type(t) for t in again.tasks] == [TaskStatus]
    assert [asdict(t) for t in again.tasks] == [{k: getattr(t, k) for k in names} for t in status.tasks]


def test_each_in_process_item_logs_only_its_own_output(spec, run) -> None:
    """Fast items share worker threads in batches; each task's logs still hold its own lines only."""
    from flowyard.logs import read_run_logs
    from flowyard.runs import RunDirectory

    path = spec("""
        name: chatty
        failure_policy: continue
        steps:
          talk:
            for_each: ${{ params.xs }}
            parallelism: 2
            python: {function: "steplib:chatty"}
            inputs: {x: "${{ item }}", bad: {value: [7]}}
        parameters: {xs: {type: list, default: []}}
    """)
    status = run(path, {"xs": list(range(300))})
    run_dir = Path(status.location or "")
    for i in (0, 1, 150, 299):
        assert list(read_run_logs(RunDirectory(run_dir), "talk", i)) == [
            f"talk[{i}]: out {i}",
            f"talk[{i}] (stderr): err {i}",
        ]
    failed = list(read_run_logs(RunDirectory(run_dir), "talk", 7))
    assert failed[:2] == ["talk[7]: out 7", "talk[7] (stderr): err 7"]
    assert "talk[7] (stderr): RuntimeError: item 7 fails on purpose" in failed
    assert list(read_run_logs(RunDirectory(run_dir), "talk", 150)) == [
        "talk[150]: out 150",
        "talk[150] (stderr): err 150",
    ]
