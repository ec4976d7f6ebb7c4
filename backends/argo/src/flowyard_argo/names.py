"""The names and places the Argo compiler adds: its templates, tasks and parameters, and the folders a step's
values and files use inside its pod. Read by the compiler's modules and by the backend's checks."""

from __future__ import annotations

from pathlib import PurePosixPath

from flowyard.ir import OutputIR, PipelineIR

from flowyard_argo.failed_items import CHECK, check_task
from flowyard_argo.fan_ins import wrapped_loops
from flowyard_argo.on_exit import EXIT_HANDLER, failed_step_name
from flowyard_argo.retry_boundary import attempts_template, retried_in_own_dag
from flowyard_argo.scalar_checks import checked_outputs, values_task, values_template_name

ENTRY = "main"
HELPER = "flowyard-items"
HELPER_FILE = "flowyard-items-file"  # the helper reading an upstream step's list from a file
INPUTS_ROOT = "/flowyard/inputs"
OUTPUTS_ROOT = "/flowyard/outputs"
VALUES_DIR = "/flowyard/values"
COLLECTED_DIR = "/flowyard/collected"
VALUES_IN_DIR = "/flowyard/values-in"  # a Python step's upstream values, each written to a file by argoexec's init
DEFAULT_WORKDIR = "/flowyard/work"
P_INDEX = "flowyard-index"
P_ITEM = "flowyard-item"
P_ITEMS = "flowyard-items"
AWS_S3_ENDPOINT = "s3.amazonaws.com"  # Argo's docs for AWS S3 (docs/configure-artifact-repository.md)
ARGV_STRING_LIMIT = 32 * 4096  # Linux's MAX_ARG_STRLEN: one longer argv string and a pod cannot start (E2BIG)
MANIFEST_LIMIT = 1024 * 1024  # etcd's object limit is ~1.5 MB; Argo's docs advise staying under 1 MB
IR_ANNOTATION = "workflows.flowyard.dev/ir-version"
PIPELINE_LABEL = "workflows.flowyard.dev/pipeline"


def loop_template(dns: str) -> str:
    return f"{dns}-loop"


def items_task(dns: str) -> str:
    return f"{dns}-items"


def field_param(k: int) -> str:
    return f"flowyard-f{k}"


def basename(out: OutputIR) -> str:
    return PurePosixPath(out.path).name if out.path else out.name


def reserved_names(ir: PipelineIR) -> dict[str, str]:
    """Template and task names the compiler adds, each with what it is for."""
    names = {ENTRY: "the entry DAG", HELPER: "the item-numbering template", EXIT_HANDLER: "the on-exit handler"}
    names[CHECK] = "the failed-items check template"
    names[HELPER_FILE] = "the item-numbering template reading a file"
    if ir.on_exit is not None:
        names[failed_step_name(ir.on_exit.dns_name)] = "the on-exit step run after a failure"
    for step, outputs in checked_outputs(ir).items():
        names[values_task(ir.step(step).dns_name)] = f"the check of step {step!r}'s number/integer/bool outputs"
        names[values_template_name(len(outputs))] = "the template checking number/integer/bool outputs"
    for name in retried_in_own_dag(ir):
        names[attempts_template(ir.step(name).dns_name)] = (
            f"the container of step {name!r}, whose attempts its DAG runs"
        )
    wrapped = wrapped_loops(ir)
    for s in ir.steps:
        if s.for_each is not None:
            names[items_task(s.dns_name)] = f"the item list of step {s.name!r}"
            if s.name in wrapped:
                names[loop_template(s.dns_name)] = f"the loop wrapper of step {s.name!r}"
                names[check_task(s.dns_name)] = f"the failed-items check of step {s.name!r}"
    return names
