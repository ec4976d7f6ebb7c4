"""One test per row of docs/backends/kubeflow.md's mapping table. Every package a test looks at is
first parsed strictly into PipelineSpec, cross-checked and loaded with kfp's own loader."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml
from flowyard._lowering import lower
from flowyard.spec import Container, Parameter, Pipeline, PythonFunction, SecretRef, Step
from flowyard.testing.contract import canonical_ir
from flowyard_kubeflow import KubeflowBackend

from .conftest import STEP_IMAGE, executor, package, tasks

ROOT = Path(__file__).resolve().parents[3]
F = "flowyard.testing.functions"


def py(function: str, **fields) -> Step:
    return Step.model_validate({"python": PythonFunction(function=f"{F}:{function}"), **fields})


def box(*command: str, **fields) -> Step:
    return Step(container=Container(command=list(command), image="alpine:3"), **fields)


def test_parameters_become_pipeline_inputs_with_types_and_defaults(tmp_path) -> None:
    doc = package(
        Pipeline(
            name="p",
            parameters={
                "text": Parameter(default="plain"),
                "n": Parameter(type="integer"),
                "obj": Parameter(type="object", default={"a": 1}),
            },
            steps={"s": box("echo", "${{ params.text }}", "${{ params.n }}", "${{ params.obj }}")},
        ),
        tmp_path,
    )
    params = doc["root"]["inputDefinitions"]["parameters"]
    assert params["text"] == {"defaultValue": "plain", "isOptional": True, "parameterType": "STRING"}
    assert params["n"] == {"parameterType": "NUMBER_INTEGER"}  # required: given when the run is created
    assert params["obj"]["parameterType"] == "STRUCT" and params["obj"]["defaultValue"] == {"a": 1}


def test_container_steps_become_container_components_in_their_image(tmp_path) -> None:
    doc = package(
        Pipeline(name="p", parameters={"m": Parameter(default="x")}, steps={"s": box("echo", "${{ params.m }}")}),
        tmp_path,
    )
    c = executor(doc, "s")
    assert c["image"] == "alpine:3"
    assert c["command"] == ["echo", "{{$.inputs.parameters['param_m']}}"]  # no wrapper: nothing to copy


def test_fixed_output_paths_run_inside_a_sh_wrapper_that_copies_to_kfps_paths(tmp_path) -> None:
    doc = package(canonical_ir("seed-sequential"), tmp_path)
    c = executor(doc, "processor")
    assert c["command"][:2] == ["/bin/sh", "-c"]
    assert c["command"][3:] == [
        "flowyard-step",
        "/workdir",
        "",  # no final status: not an on-exit step
        "1",
        "{{$.inputs.artifacts['event'].path}}",
        "/workdir/activator_event.json",
        "0",
        "1",
        "/workdir/processor_event.json",
        "{{$.outputs.artifacts['event_output'].path}}",
        "python3",
        "-m",
        "flowyard.testing.apps",
        "processor",
    ]


def test_the_wrapper_really_copies_files_and_exports_env_with_any_bytes(tmp_path) -> None:
    """Run the wrapper script with sh, as the user's image would: placeholders replaced by paths,
    a hostile value as one argument. Nothing is interpreted by the shell."""
    from flowyard_kubeflow.components import WRAPPER

    work = tmp_path / "work"
    given = tmp_path / "kfp-in" / "event"
    given.parent.mkdir()
    given.write_text('{"msg": "hi"}')
    out = tmp_path / "kfp-out" / "event"
    hostile = '$(touch pwned) `x` "q" \' \n; rm -rf /'
    argv = ["sh", "-c", WRAPPER, "flowyard-step", str(work), "", "1", str(given), str(work / "in.json")]
    argv += ["1", "FLOWYARD_X", hostile, "1", str(work / "out.json"), str(out)]
    argv += [
        "python3",
        "-c",
        "import json,os; d=json.load(open('in.json')); d['x']=os.environ['FLOWYARD_X']; json.dump(d, open('out.json','w'))",
    ]
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, env={**os.environ}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == {"msg": "hi", "x": hostile}
    assert not (tmp_path / "pwned").exists() and not (work / "pwned").exists()
    # a failing command keeps its exit code and copies nothing
    out.unlink()
    argv[-3:] = ["sh", "-c", "exit 7"]
    assert subprocess.run(argv, cwd=tmp_path, capture_output=True, check=False).returncode == 7
    assert not out.exists()


def test_python_steps_become_lightweight_components_running_the_same_function(tmp_path) -> None:
    doc = package(canonical_ir("diamond"), tmp_path)
    c = executor(doc, "b")
    assert c["image"] == STEP_IMAGE
    program = "\n".join(c["command"])
    assert "pip install" not in program  # install_kfp_package=False: the image brings kfp
    source = c.get("args", [])
    text = program + "\n".join(source)
    assert "run_function_task" in text and "flowyard.testing.functions:double" in text


def test_dependencies_become_dependent_tasks(tmp_path) -> None:
    doc = package(canonical_ir("diamond"), tmp_path)
    assert sorted(tasks(doc)["d"]["dependentTasks"]) == ["b", "c"]  # b by data, c by `after`
    assert tasks(doc)["b"]["dependentTasks"] == ["a"]


def test_fan_out_over_a_parameter_is_a_parallel_for_with_its_parallelism(tmp_path) -> None:
    doc = package(canonical_ir("fan-in-files"), tmp_path)
    loop = next(t for n, t in tasks(doc).items() if n.startswith("for-loop"))
    assert loop["parameterIterator"]["items"]["inputParameter"] == "pipelinechannel--docs"
    assert loop["iteratorPolicy"] == {"parallelismLimit": 2}


def test_fan_out_over_literals_is_a_parallel_for_over_raw_items(tmp_path) -> None:
    p = Pipeline(name="p", steps={"s": box("echo", "${{ item }}", for_each=["a", "b", "c"])})
    doc = package(p, tmp_path)
    loop = next(iter(tasks(doc).values()))
    assert json.loads(loop["parameterIterator"]["items"]["raw"]) == ["a", "b", "c"]


def test_fan_out_over_an_upstream_output_iterates_the_task_output(tmp_path) -> None:
    doc = package(canonical_ir("fan-out-over-output"), tmp_path)
    loop = next(t for n, t in tasks(doc).items() if n.startswith("for-loop"))
    assert loop["inputs"]["parameters"]["pipelinechannel--make-xs"]["taskOutputParameter"]["producerTask"] == "make"


def test_item_fields_of_a_container_step_are_kfp_field_selectors(tmp_path) -> None:
    doc = package(canonical_ir("seed-sequential").model_copy(), tmp_path)  # no fan-out: no selector
    assert "parameterExpressionSelector" not in json.dumps(doc)
    fan = package(
        lower(
            Pipeline(
                name="p",
                parameters={"m": Parameter(type="list", default=[{"event": {"a": 1}}])},
                steps={"s": box("echo", "${{ item.event }}", for_each="${{ params.m }}")},
            )
        ),
        tmp_path,
    )
    inner = next(c for n, c in fan["components"].items() if n.startswith("comp-for-loop"))
    (task,) = inner["dag"]["tasks"].values()
    assert (
        task["inputs"]["parameters"]["item_event"]["parameterExpressionSelector"] == 'parseJson(string_value)["event"]'
    )


def test_fan_out_over_a_fan_out_is_a_per_item_chain_in_one_parallel_for(tmp_path) -> None:
    """Variant 2: a KFP server has no artifact iterator (argocompiler/dag.go, DAG); item i of the
    processor is the activator's output for item i, so both run in one loop, one chain per item."""
    doc = package(canonical_ir("seed-fanout"), tmp_path)
    (loop_name,) = [n for n in tasks(doc) if n.startswith("for-loop")]
    loop = tasks(doc)[loop_name]
    assert "artifactIterator" not in loop and loop["iteratorPolicy"]["parallelismLimit"] == 2
    inner = tasks(doc, loop_name)
    assert inner["processor"]["dependentTasks"] == ["activator"]
    wire = inner["processor"]["inputs"]["artifacts"]["event"]["taskOutputArtifact"]
    assert wire == {"producerTask": "activator", "outputArtifactKey": "event"}


def test_fan_in_of_values_is_collected_in_item_order(tmp_path) -> None:
    doc = package(canonical_ir("fan-in-values"), tmp_path)
    total = tasks(doc)["total"]["inputs"]["parameters"]["xs"]
    assert total["taskOutputParameter"]["producerTask"].startswith("for-loop")
    loop_comp = next(c for n, c in doc["components"].items() if n.startswith("comp-for-loop"))
    (selector,) = loop_comp["dag"]["outputs"]["parameters"].values()
    assert selector["valueFromParameter"]["producerSubtask"] == "double"


def test_fan_in_of_files_is_collected_as_an_artifact_list(tmp_path) -> None:
    doc = package(canonical_ir("fan-in-files"), tmp_path)
    gather = doc["components"]["comp-gather"]["inputDefinitions"]["artifacts"]["folder"]
    assert gather["isArtifactList"] is True
    assert tasks(doc)["gather"]["inputs"]["artifacts"]["folder"]["taskOutputArtifact"]["producerTask"].startswith(
        "for-loop"
    )


def test_retries_become_set_retry(tmp_path) -> None:
    p = Pipeline(
        name="p",
        steps={"s": box("true", retries={"limit": 3, "backoff": {"duration": "2s", "factor": 3}})},
    )
    doc = package(p, tmp_path)
    assert tasks(doc)["s"]["retryPolicy"] == {
        "backoffDuration": "2s",
        "backoffFactor": 3.0,
        "backoffMaxDuration": "3600s",  # kfp's default: on a server, Argo's budget from the first attempt
        "maxRetryCount": 3,
    }


def test_resources_become_cpu_memory_and_accelerator_limits(tmp_path) -> None:
    doc = package(
        Pipeline(name="p", steps={"s": box("true", resources={"cpu": "500m", "memory": "1Gi", "gpu": 1})}), tmp_path
    )
    res = executor(doc, "s")["resources"]
    assert res["cpuLimit"] == 0.5 and res["memoryLimit"] == 1.073741824
    assert res["accelerator"]["resourceCount"] == "1" and res["accelerator"]["resourceType"] == "nvidia.com/gpu"


def test_env_values_are_exported_by_the_wrapper(tmp_path) -> None:
    p = Pipeline(
        name="p", parameters={"x": Parameter(default="v")}, steps={"s": box("env", env={"X": "${{ params.x }}!"})}
    )
    c = executor(package(p, tmp_path), "s")
    i = c["command"].index("flowyard-step")
    assert c["command"][i + 2 : i + 7] == ["", "0", "1", "X", "{{$.inputs.parameters['param_x']}}!"]


def test_secrets_become_kfp_kubernetes_secret_env(tmp_path) -> None:
    p = Pipeline(
        name="p", steps={"s": box("true", secrets=[SecretRef(secret="db", key="password", env="DB_PASSWORD")])}
    )
    text = KubeflowBackend().compile(lower(p)).main.content
    docs = [d for d in yaml.safe_load_all(text) if d]
    (executor_config,) = docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"].values()
    (secret,) = executor_config["secretAsEnv"]
    assert secret["secretName"] == "db"
    assert secret["keyToEnv"] == [{"envVar": "DB_PASSWORD", "secretKey": "password"}]
    assert "password" not in json.dumps(docs[0])


def test_conditions_become_dsl_if(tmp_path) -> None:
    p = Pipeline(
        name="p",
        parameters={"mode": Parameter(default="slow")},
        steps={"s": box("true", when="${{ params.mode }} == 'fast'")},
    )
    doc = package(p, tmp_path)
    cond = next(t for n, t in tasks(doc).items() if n.startswith("condition"))
    assert cond["triggerPolicy"]["condition"] == "inputs.parameter_values['pipelinechannel--mode'] == 'fast'"


def test_the_on_exit_step_becomes_an_exit_handler_seeing_the_final_status(tmp_path) -> None:
    p = Pipeline(
        name="p",
        steps={"s": box("true")},
        on_exit=box("echo", "${{ run.status }}"),
    )
    doc = package(p, tmp_path)
    exit_task = tasks(doc)["on-exit"]
    assert exit_task["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"
    assert exit_task["dependentTasks"] == ["exit-handler-1"]
    assert "s" in doc["components"]["comp-exit-handler-1"]["dag"]["tasks"]  # every other task inside it
    status_input = doc["components"]["comp-on-exit"]["inputDefinitions"]["parameters"]["status"]
    assert status_input["parameterType"] == "TASK_FINAL_STATUS"


def test_caching_follows_each_steps_cache_setting(tmp_path) -> None:
    p = Pipeline(name="p", steps={"a": box("true", cache=True), "b": box("true")})
    doc = package(p, tmp_path)
    assert tasks(doc)["a"]["cachingOptions"] == {"enableCache": True}
    assert tasks(doc)["b"]["cachingOptions"] == {}


def test_pipeline_outputs_become_root_outputs(tmp_path) -> None:
    doc = package(canonical_ir("seed-fanout"), tmp_path)
    out = doc["root"]["outputDefinitions"]["artifacts"]["events"]
    assert out["isArtifactList"] is True


def test_pipeline_root_option_is_the_default_pipeline_root(tmp_path) -> None:
    assert (
        package(canonical_ir("seed-sequential"), tmp_path, pipeline_root="s3://bkt/kfp")["defaultPipelineRoot"]
        == "s3://bkt/kfp"
    )


def test_names_are_sanitised_into_identifiers_and_dns_task_names(tmp_path) -> None:
    doc = package(canonical_ir("sanitised-names"), tmp_path)
    assert set(tasks(doc)) == {"load-data", "transform-v2"}
    assert tasks(doc)["transform-v2"]["taskInfo"]["name"] == "Transform_V2"
