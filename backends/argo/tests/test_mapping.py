"""One test per row of docs/backends/argo.md's mapping table (each manifest is also strictly valid)."""

from __future__ import annotations

import json

import pytest
import yaml
from flowyard._lowering import lower
from flowyard.errors import FlowyardError
from flowyard.spec import Container, Input, Output, Parameter, Pipeline, PythonFunction, S3Store, SecretRef, Step
from flowyard.testing.contract import canonical_ir
from flowyard_argo import ArgoBackend

from .argo_schema import schema_errors, semantic_errors
from .conftest import STEP_IMAGE, manifest, task, template

F = "flowyard.testing.functions"


def py(function: str, **fields) -> Step:
    return Step.model_validate({"python": PythonFunction(function=f"{F}:{function}"), **fields})


def box(*command: str, **fields) -> Step:
    return Step(container=Container(command=list(command), image="alpine:3"), **fields)


def test_parameters_become_workflow_arguments_rendered_as_commands_see_them() -> None:
    doc = manifest(
        Pipeline(
            name="p",
            parameters={
                "text": Parameter(default="plain", description="a string"),
                "obj": Parameter(type="object", default={"b": 1, "a": "é"}),
                "need": Parameter(type="integer"),
            },
            steps={"s": box("echo", "${{ params.text }}", "${{ params.obj }}", "${{ params.need }}")},
        )
    )
    args = {p["name"]: p for p in doc["spec"]["arguments"]["parameters"]}
    assert args["text"] == {"name": "text", "value": "plain", "description": "a string"}
    assert args["obj"]["value"] == '{"a":"é","b":1}'  # compact, sorted: what the local runner passes
    assert "value" not in args["need"]  # required: given at submit time
    # each value with every $ doubled for the kubelet, which expands $(VAR) and $$ (flowyard_argo.kubelet)
    assert template(doc, "s")["container"]["command"] == [
        "echo",
        "{{=sprig.replace('$', '$$', workflow.parameters['text'])}}",
        "{{=sprig.replace('$', '$$', workflow.parameters['obj'])}}",
        "{{=sprig.replace('$', '$$', workflow.parameters['need'])}}",
    ]


def test_container_steps_get_their_workdir_and_absolute_output_paths() -> None:
    doc = manifest(canonical_ir("seed-sequential"))
    act = template(doc, "activator")
    assert act["container"]["workingDir"] == "/workdir"
    assert act["container"]["image"] == "nasa-hsi"
    assert act["outputs"]["artifacts"][0]["path"] == "/workdir/activator_event.json"
    proc = template(doc, "processor")
    assert proc["inputs"]["artifacts"][0]["path"] == "/workdir/activator_event.json"
    assert task(doc, "processor")["arguments"]["artifacts"] == [
        {"name": "event", "from": "{{tasks.activator.outputs.artifacts.event}}"}
    ]


def test_container_steps_without_workdir_run_in_flowyards_own() -> None:
    doc = manifest(Pipeline(name="p", steps={"s": box("touch", "out.txt", outputs={"o": Output(path="out.txt")})}))
    s = template(doc, "s")
    assert s["container"]["workingDir"] == "/flowyard/work"
    assert s["outputs"]["artifacts"][0]["path"] == "/flowyard/work/out.txt"


def test_python_steps_run_flowyards_step_entrypoint_in_their_image() -> None:
    doc = manifest(canonical_ir("diamond"))
    c = template(doc, "b")["container"]
    assert c["image"] == STEP_IMAGE
    assert c["command"][:6] == ["python3", "-m", "flowyard.step", "exec", "--kind", "python"]
    assert "flowyard.testing.functions:double" in c["command"]
    i = c["command"].index("--value-file")  # an upstream value through a file: it can be over argv's limit
    assert c["command"][i : i + 5] == ["--value-file", "x", "number", "rendered", "/flowyard/values-in/x"]
    raw = {"name": "flowyard-raw-x", "path": "/flowyard/values-in/x", "raw": {"data": "{{inputs.parameters.x}}"}}
    assert raw in template(doc, "b")["inputs"]["artifacts"]
    assert task(doc, "b")["arguments"]["parameters"] == [{"name": "x", "value": "{{tasks.a.outputs.parameters.out}}"}]
    assert template(doc, "b")["outputs"]["parameters"] == [
        {"name": "out", "valueFrom": {"path": "/flowyard/values/out"}}
    ]


def test_dependencies_become_dag_depends() -> None:
    doc = manifest(canonical_ir("diamond"))
    assert "depends" not in task(doc, "a")
    assert task(doc, "b")["depends"] == "a.Succeeded"  # b reads a's output: omitted if a is skipped
    assert task(doc, "d")["depends"] == "b.Succeeded && c"  # d reads b, only runs after c


def test_fan_out_over_literals_goes_through_the_helper_as_ascii_json() -> None:
    """Literal items take the parameter's path: a ``withItems`` map member would reach the container through
    ``Item.String()`` (escaped); the helper writes each field as a small JSON document instead."""
    doc = manifest(canonical_ir("parallel-limits"))
    helper = task(doc, "b-items")
    args = {p["name"]: p["value"] for p in helper["arguments"]["parameters"]}
    assert args["mode"] == "enumerate" and json.loads(args["data"]) == [5, 6, 7]
    inner = task(doc, "b")
    assert inner["withParam"] == "{{tasks.b-items.outputs.parameters.items}}" and "withItems" not in inner
    assert {"name": "flowyard-index", "value": "{{item.index}}"} in inner["arguments"]["parameters"]


def test_a_literal_for_each_list_reaches_the_helper_in_printable_ascii() -> None:
    pipeline = Pipeline(name="p", steps={"s": box("echo", "${{ item }}", for_each=["{x}", "é\x7f"])})
    args = {p["name"]: p["value"] for p in task(manifest(pipeline), "s-items")["arguments"]["parameters"]}
    assert args["data"].isascii() and "\x7f" not in args["data"]
    assert json.loads(args["data"]) == ["{x}", "é\x7f"]


def test_fan_out_over_a_parameter_is_with_param_over_the_numbered_list() -> None:
    doc = manifest(canonical_ir("wide-fanout"))
    helper = task(doc, "double-items")
    args = {p["name"]: p["value"] for p in helper["arguments"]["parameters"]}
    assert args["mode"] == "enumerate" and args["data"] == "/tmp/flowyard/data"  # the value through a file:
    # over 131,072 bytes no argv holds it (test_large_fan_in.py)
    assert helper["template"] == "flowyard-items-file"
    assert helper["arguments"]["artifacts"] == [{"name": "data", "raw": {"data": "{{workflow.parameters.xs}}"}}]
    assert task(doc, "double")["withParam"] == "{{tasks.double-items.outputs.parameters.items}}"
    assert task(doc, "double")["depends"] == "double-items"
    gathered = manifest(canonical_ir("fan-in-values"))  # its values are gathered: wrapped (test_empty_fan_out.py)
    assert task(gathered, "double")["template"] == "double-loop"
    assert task(gathered, "double", dag="double-loop")["withParam"] == "{{inputs.parameters.flowyard-items}}"


def test_fan_out_over_an_upstream_output_waits_for_it() -> None:
    doc = manifest(canonical_ir("fan-out-over-output"))
    helper = task(doc, "double-items")
    args = {p["name"]: p["value"] for p in helper["arguments"]["parameters"]}
    # the list as a file, read by the helper (over 131,072 bytes no argv holds it: test_large_fan_in.py)
    assert helper["template"] == "flowyard-items-file" and args["data"] == "/tmp/flowyard/data"
    assert helper["arguments"]["artifacts"] == [
        {"name": "data", "from": "{{tasks.make.outputs.artifacts.flowyard-list-xs}}"}
    ]
    saved = template(doc, "make")["outputs"]
    # a Python step's list as JSON, beside the parameter's text (where a string is bare)
    assert saved["artifacts"][0]["path"] == saved["parameters"][0]["valueFrom"]["path"] + ".json"
    assert helper["depends"] == "make.Succeeded"
    assert task(doc, "double")["depends"] == "make.Succeeded && double-items"


def test_item_fields_are_flattened_for_argo_which_reads_one_level() -> None:
    doc = manifest(canonical_ir("seed-fanout"))
    helper = task(doc, "activator-items")
    assert json.loads({p["name"]: p["value"] for p in helper["arguments"]["parameters"]}["fields"]) == [["event"]]
    inner = task(doc, "activator", dag="activator-loop")
    assert {"name": "flowyard-f0", "value": "{{item.f0}}"} in inner["arguments"]["parameters"]
    field = "{{=sprig.replace('$', '$$', jsonpath(inputs.parameters['flowyard-f0'], '$.v'))}}"
    assert template(doc, "activator")["container"]["command"][-2:] == ["activator", field]


def test_pipeline_parallelism_is_spec_parallelism() -> None:
    assert manifest(canonical_ir("parallel-limits"))["spec"]["parallelism"] == 2
    assert "parallelism" not in manifest(canonical_ir("diamond"))["spec"]


def test_step_parallelism_wraps_the_loop_in_a_dag_template_that_carries_it() -> None:
    """The structure of Argo's examples/parallelism-template-limit.yaml: the limit sits on the
    template whose (only) task holds the loop, not on the task and not on the looped template."""
    doc = manifest(canonical_ir("parallel-limits"))
    outer = task(doc, "a")
    assert outer["template"] == "a-loop" and "withParam" not in outer
    wrapper = template(doc, "a-loop")
    assert wrapper["parallelism"] == 1
    (inner,) = wrapper["dag"]["tasks"]
    assert inner["template"] == "a" and inner["withParam"] == "{{inputs.parameters.flowyard-items}}"
    assert "parallelism" not in template(doc, "a")
    # its aggregated value output is passed up, so downstream steps read it as from any task
    assert wrapper["outputs"]["parameters"] == [
        {"name": "out", "valueFrom": {"parameter": "{{tasks.a.outputs.parameters.out}}", "default": "[]"}}
    ]
    # b has no limit of its own: no wrapper
    assert task(doc, "b")["template"] == "b" and "withParam" in task(doc, "b")


def test_wrapped_loop_receives_upstream_references_through_its_inputs() -> None:
    doc = manifest(canonical_ir("seed-fanout"))
    outer = task(doc, "activator")
    assert outer["arguments"]["parameters"] == [
        {"name": "flowyard-items", "value": "{{tasks.activator-items.outputs.parameters.items}}"}
    ]
    assert task(doc, "activator", dag="activator-loop")["withParam"] == "{{inputs.parameters.flowyard-items}}"


def test_retries_become_a_retry_strategy_counting_retries() -> None:
    rs = template(manifest(canonical_ir("retries")), "s-attempts")["retryStrategy"]
    assert rs == {
        "limit": 2,
        "retryPolicy": "Always",
        "backoff": {"duration": "1s", "factor": 2, "cap": "10s"},
    }


def test_timeouts_become_active_deadline_seconds() -> None:
    assert template(manifest(canonical_ir("retries")), "s-attempts")["activeDeadlineSeconds"] == 300


def test_a_retried_step_under_stop_is_called_through_a_dag_of_its_own_without_fail_fast() -> None:
    doc = manifest(canonical_ir("retries"))
    own = template(doc, "s")
    assert "failFast" not in own and "failFast" not in own["dag"]  # its attempts count in this DAG only
    assert own["dag"]["tasks"] == [{"name": "s", "template": "s-attempts"}]
    assert own["outputs"] == {
        "parameters": [{"name": "out", "valueFrom": {"parameter": "{{tasks.s.outputs.parameters.out}}"}}]
    }
    assert task(doc, "s")["template"] == "s" and template(doc, "main")["failFast"] is True


def test_resources_become_requests_and_limits() -> None:
    doc = manifest(Pipeline(name="p", steps={"s": box("true", resources={"cpu": "500m", "memory": "1Gi", "gpu": 1})}))
    assert template(doc, "s")["container"]["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"},
    }


def test_secrets_become_secret_key_refs_never_values() -> None:
    p = Pipeline(
        name="p",
        steps={"s": box("true", secrets=[SecretRef(secret="db", key="password", env="DB_PASSWORD")])},
    )
    doc = manifest(p)
    assert template(doc, "s")["container"]["env"] == [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
    ]


def test_env_values_are_rendered_like_commands() -> None:
    doc = manifest(
        Pipeline(
            name="p", parameters={"x": Parameter(default="v")}, steps={"s": box("true", env={"X": "${{ params.x }}!"})}
        )
    )
    value = "{{=sprig.replace('$', '$$', workflow.parameters['x'])}}!"
    assert template(doc, "s")["container"]["env"] == [{"name": "X", "value": value}]


def test_conditions_become_when_with_strings_quoted() -> None:
    doc = manifest(canonical_ir("condition-and-exit"))
    assert task(doc, "fast")["when"] == "'{{workflow.parameters.mode}}' == 'fast'"


def test_the_on_exit_step_becomes_on_exit_and_sees_the_workflow_status() -> None:
    doc = manifest(canonical_ir("condition-and-exit"))
    """Run through the executor with the workflow in Error: test_run_phase.py."""
    doc = manifest(canonical_ir("condition-and-exit"))
    assert doc["spec"]["onExit"] == "flowyard-on-exit"
    assert template(doc, "on-exit")["container"]["command"][-1] == "{{inputs.parameters.flowyard-run-status}}"
    (succeeded, failed), *rest = template(doc, "flowyard-on-exit")["steps"]
    assert not rest and succeeded["template"] == failed["template"] == "on-exit"
    assert [a["value"] for s in (succeeded, failed) for a in s["arguments"]["parameters"]] == ["Succeeded", "Failed"]
    assert succeeded["when"] == "'{{workflow.status}}' == 'Succeeded'"
    assert failed["when"] == "'{{workflow.status}}' != 'Succeeded'"
    assert "on-exit" not in {t["name"] for t in template(doc, "main")["dag"]["tasks"]}


def test_continue_on_failure_keeps_the_dag_going() -> None:
    """Validation and depends evaluation per version: test_failure_policies.py."""
    doc = manifest(canonical_ir("failing-item-continue"))
    assert template(doc, "main")["dag"]["failFast"] is False
    assert "continueOn" not in task(doc, "items")  # validate.go: not with depends
    assert template(doc, "items-loop")["dag"]["tasks"][0]["continueOn"] == {"failed": True}  # no depends there
    assert "items.Failed" in task(doc, "after")["depends"]
    main = template(doc, "main")["dag"]
    assert main["target"].split() == [t["name"] for t in main["tasks"]]  # assessDAGPhase reads the targets
    # the wrapper's continueOn hides a failed item from main: its task group's phase goes out, a check fails on it
    status = {p["name"]: p["valueFrom"] for p in template(doc, "items-loop")["outputs"]["parameters"]}
    assert status["flowyard-status"] == {"parameter": "{{tasks.items.status}}"}
    check = task(doc, "items-check")
    assert check["template"] == "flowyard-check" and check["depends"] == "items"
    assert check["when"] == "'{{tasks.items.outputs.parameters.flowyard-status}}' != 'Succeeded'"
    stop = manifest(canonical_ir("failing-item-stop"))
    assert template(stop, "main")["failFast"] is True and "continueOn" not in task(stop, "items")


def test_stop_sets_template_level_fail_fast_on_the_loops_template() -> None:
    stop = manifest(canonical_ir("failing-item-stop"))
    assert template(stop, "items-loop")["failFast"] is True and template(stop, "items-loop")["dag"]["failFast"] is True


def test_the_s3_store_becomes_s3_artifacts_with_secret_credentials() -> None:
    p = Pipeline(
        name="p",
        store=S3Store(
            endpoint="minio:9000",
            bucket="bkt",
            prefix="runs/",
            insecure=True,
            access_key=SecretRef(secret="minio-creds", key="accesskey", env="AWS_ACCESS_KEY_ID"),
            secret_key=SecretRef(secret="minio-creds", key="secretkey", env="AWS_SECRET_ACCESS_KEY"),
        ),
        steps={
            "a": box("w", outputs={"o": Output(path="o.json")}),
            "b": box("r", inputs={"i": Input(value="${{ steps.a.outputs.o }}", path="i.json")}),
        },
    )
    doc = manifest(p)
    out = template(doc, "a")["outputs"]["artifacts"][0]
    assert out["s3"] == {
        "bucket": "bkt",
        "endpoint": "minio:9000",
        "insecure": True,
        "key": "runs/{{workflow.name}}/a/o",
        "accessKeySecret": {"name": "minio-creds", "key": "accesskey"},
        "secretKeySecret": {"name": "minio-creds", "key": "secretkey"},
    }
    assert out["archive"] == {"none": {}}
    assert template(doc, "b")["inputs"]["artifacts"][0]["s3"]["key"] == "runs/{{workflow.name}}/a/o"
    text = yaml.safe_dump(doc)
    assert "AWS_SECRET_ACCESS_KEY" not in text  # the local-only variable names stay local


def test_fan_in_of_files_reads_the_zero_padded_key_prefix_as_a_folder() -> None:
    """The pattern of Argo's examples/map-reduce.yaml: each mapped item writes under one prefix with
    its own part id; the reducer reads the prefix as a directory."""
    doc = manifest(canonical_ir("fan-in-files"))
    out = template(doc, "write")["outputs"]["artifacts"][0]
    assert out["s3"] == {"key": "{{workflow.name}}/write/out/{{inputs.parameters.flowyard-index}}/out"}
    assert out["archive"] == {"none": {}}
    folder = template(doc, "gather")["inputs"]["artifacts"][0]
    assert folder == {
        "name": "folder",
        "path": "/flowyard/inputs/folder",
        "s3": {"key": "{{workflow.name}}/write/out"},
        "archive": {"none": {}},
        "optional": True,  # an empty fan-out writes nothing under the prefix (test_empty_fan_out.py)
    }
    assert out["s3"]["key"].startswith(folder["s3"]["key"] + "/")
    assert task(doc, "gather")["depends"] == "(write.Succeeded || write.Skipped)"


def test_fan_in_of_values_takes_the_aggregate_and_the_item_count() -> None:
    doc = manifest(canonical_ir("fan-in-values"))
    args = {p["name"]: p["value"] for p in task(doc, "total")["arguments"]["parameters"]}
    assert args == {
        "xs": "{{tasks.double.outputs.parameters.out}}",
        "flowyard-count-xs": "{{tasks.double-items.outputs.parameters.count}}",
    }
    cmd = template(doc, "double")["container"]["command"]
    assert cmd[-2:] == ["--index", "{{inputs.parameters.flowyard-index}}"]  # values carry their index


def test_fan_out_over_a_fan_out_reads_item_i_of_the_upstream() -> None:
    """Variant 2, in the way of Argo's examples/parameter-aggregation-dag.yaml: the second loop
    runs over the first loop's items once the whole first loop is done."""
    doc = manifest(canonical_ir("seed-fanout"))
    proc = task(doc, "processor")
    assert proc["depends"] == "activator.Succeeded"
    assert proc["withParam"] == "{{tasks.activator-items.outputs.parameters.items}}"
    key = template(doc, "processor")["inputs"]["artifacts"][0]["s3"]["key"]
    assert key == "{{workflow.name}}/activator/event/{{inputs.parameters.flowyard-index}}/activator_event.json"


def test_fan_out_over_fanned_out_values_gathers_them_in_item_order_first() -> None:
    p = Pipeline(
        name="p",
        parameters={"xs": Parameter(type="list", default=[1, 2])},
        steps={
            "a": py(
                "double",
                for_each="${{ params.xs }}",
                inputs={"x": "${{ item }}"},
                outputs={"out": Output(type="number")},
            ),
            "b": py(
                "double",
                for_each="${{ steps.a.outputs.out }}",
                inputs={"x": "${{ item }}"},
                outputs={"out": Output(type="number")},
            ),
        },
    )
    doc = manifest(p)
    helper = task(doc, "b-items")
    args = {p["name"]: p["value"] for p in helper["arguments"]["parameters"]}
    assert args["mode"] == "gather"
    # the aggregate through a file (over 131,072 bytes no argv holds it: test_large_fan_in.py)
    assert args["data"] == "/tmp/flowyard/data" and helper["template"] == "flowyard-items-file"
    assert helper["arguments"]["artifacts"] == [{"name": "data", "raw": {"data": "{{tasks.a.outputs.parameters.out}}"}}]
    assert args["count"] == "{{tasks.a-items.outputs.parameters.count}}"


@pytest.mark.parametrize(
    ("options", "path", "expected"),
    [
        ({"namespace": "argo"}, ("metadata", "namespace"), "argo"),
        ({"service_account": "runner"}, ("spec", "serviceAccountName"), "runner"),
        ({"labels": {"team": "hsi"}}, ("metadata", "labels", "team"), "hsi"),
        (
            {"artifact_repository_ref": "repos/minio"},
            ("spec", "artifactRepositoryRef"),
            {"configMap": "repos", "key": "minio"},
        ),
    ],
)
def test_options_reach_the_manifest(options, path, expected) -> None:
    doc = manifest(canonical_ir("seed-sequential"), **options)
    for part in path:
        doc = doc[part]
    assert doc == expected


def test_image_pull_policy_reaches_every_container() -> None:
    doc = manifest(canonical_ir("seed-fanout"), image_pull_policy="IfNotPresent")
    containers = [t["container"] for t in doc["spec"]["templates"] if "container" in t]
    assert containers and all(c["imagePullPolicy"] == "IfNotPresent" for c in containers)


@pytest.mark.parametrize("kind", ["WorkflowTemplate", "CronWorkflow"])
def test_other_kinds_validate_against_their_own_definition(kind) -> None:
    backend = ArgoBackend({"kind": kind, "schedule": "0 * * * *"})
    doc = yaml.safe_load(backend.compile(canonical_ir("seed-sequential")).main.content)
    assert doc["kind"] == kind and doc["metadata"]["name"] == "seed-sequential"
    assert not schema_errors(doc) + semantic_errors(doc)
    if kind == "CronWorkflow":
        assert doc["spec"]["schedules"] == ["0 * * * *"]


def test_values_argo_would_read_as_tags_are_refused_by_name() -> None:
    """The value model's proof, per hostile value, is in test_values_not_templates.py."""
    backend = ArgoBackend({"default_image": STEP_IMAGE})
    default = Pipeline(name="p", parameters={"v": Parameter(default="{{pod.name}}")}, steps={"s": box("echo", "x")})
    with pytest.raises(FlowyardError, match=r"parameter 'v': its value holds '\{\{'"):
        backend.compile(lower(default))
    item = Pipeline(name="p", steps={"s": box("echo", "${{ item }}", for_each=["{{=sprig.upper('x')}}"])})
    with pytest.raises(FlowyardError, match=r"step 's': for_each item 0 holds '\{\{'"):
        backend.compile(lower(item))


def _artifacts(doc: dict) -> list[dict]:
    found = []
    for t in doc["spec"]["templates"]:
        for group in ("inputs", "outputs"):
            found += [(group, a) for a in (t.get(group) or {}).get("artifacts", [])]
    return found


def test_an_s3_store_without_an_endpoint_gets_aws_s3s_so_every_location_is_complete() -> None:
    """``S3Artifact.HasLocation`` needs endpoint, bucket and key; without one the artifact goes to the default
    repository (``workflow_types.go``)."""
    p = Pipeline(
        name="p",
        store=S3Store(bucket="bkt", region="eu-west-1"),
        steps={
            "a": box("w", outputs={"o": Output(path="o.json")}),
            "b": box("r", inputs={"i": Input(value="${{ steps.a.outputs.o }}", path="i.json")}),
        },
    )
    s3 = [a["s3"] for _, a in _artifacts(manifest(p)) if "s3" in a]
    assert len(s3) == 2
    assert all(loc["endpoint"] == "s3.amazonaws.com" and loc["bucket"] and loc["key"] for loc in s3), s3


def test_every_artifact_arrives_as_written_never_unpacked() -> None:
    """Without ``archive`` on an input, the executor unpacks anything that looks like a tarball
    (``workflow/executor/executor.go`` ``unarchiveArtifact``): ``archive: none`` on inputs and outputs."""
    for name in ("seed-fanout", "fan-in-files"):
        arts = _artifacts(manifest(canonical_ir(name)))
        assert arts and all(a.get("archive") == {"none": {}} for _, a in arts), arts


def test_preflight_refuses_what_the_controller_would_with_its_words() -> None:
    """More cases, per rule: test_preflight.py."""
    backend = ArgoBackend({"default_image": STEP_IMAGE, "kind": "CronWorkflow", "schedule": "0 * * * *"})
    with pytest.raises(
        FlowyardError, match=r"every Argo release would refuse the manifest \(validate.go CronWorkflow\)"
    ):
        backend.compile(lower(Pipeline(name="c" * 53, steps={"s": box("echo")})))


def test_over_200_tasks_main_calls_nested_dags_of_at_most_200() -> None:
    """A chain of 125 steps, each but the last followed by the check of its integer (249 tasks): two parts; the step
    after the cut reads its checked value from its part's input, exported by the part before it, and waits for gates
    testing the producer's and its check's phases (executed: test_nested_dags.py)."""
    box = Container(command=["echo", "${{ inputs.v }}"], image="alpine:3")
    steps = {
        "s0": Step(
            container=Container(command=["w"], image="alpine:3"), outputs={"v": Output(type="integer", path="v")}
        )
    }
    for i in range(1, 125):
        steps[f"s{i}"] = Step(
            container=box,
            inputs={"v": Input(value=f"${{{{ steps.s{i - 1}.outputs.v }}}}")},
            outputs={"v": Output(type="integer", path="v")},
        )
    doc = manifest(Pipeline(name="p", steps=steps), argo_version="3.7.9")
    main = template(doc, "main")["dag"]["tasks"]
    assert [t["name"] for t in main] == ["flowyard-part-1", "flowyard-part-2"]
    assert main[1]["depends"] == "flowyard-part-1"
    first, second = template(doc, "flowyard-part-1"), template(doc, "flowyard-part-2")
    assert len(first["dag"]["tasks"]) == 200 and len(second["dag"]["tasks"]) == 51  # 25 steps, 24 checks, 2 gates
    after_cut = task(doc, "s100", dag="flowyard-part-2")
    gates = ["flowyard-gate-s99-succeeded", "flowyard-gate-s99-values-succeeded"]
    assert after_cut["depends"] == " && ".join(f"{g}.Succeeded" for g in gates)
    value = after_cut["arguments"]["parameters"][0]["value"]
    exported = {o["name"]: o["valueFrom"]["parameter"] for o in first["outputs"]["parameters"]}
    assert (
        exported[value.removeprefix("{{inputs.parameters.").removesuffix("}}")]
        == "{{tasks.s99-values.outputs.parameters.v0}}"
    )
    for gate_name, producer in zip(gates, ["s99", "s99-values"], strict=True):
        gate = task(doc, gate_name, dag="flowyard-part-2")
        status = gate["when"].split("'")[1].removeprefix("{{inputs.parameters.").removesuffix("}}")
        assert exported[status] == f"{{{{tasks.{producer}.status}}}}" and gate["template"] == "flowyard-nothing"
