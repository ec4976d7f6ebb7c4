"""Pre-flight with the controller's own numbers and messages (divergence 7): what the controller or v4's CRDs would
refuse is refused by name at compile time (``flowyard_argo.executor.validate``: ``validate.go``, the CRDs' caps)."""

from __future__ import annotations

import pytest
import yaml
from flowyard._lowering import lower
from flowyard.errors import FlowyardError
from flowyard.spec import Container, Pipeline, Step
from flowyard_argo import ArgoBackend

from .conftest import STEP_IMAGE


def fan_outs(n: int, name: str = "p", parallelism: int | None = None) -> Pipeline:
    box = Container(command=["echo", "${{ item }}"], image="alpine:3")
    steps = {f"s{i}": Step(container=box, for_each=[1, 2], parallelism=parallelism) for i in range(n)}
    return Pipeline(name=name, steps=steps)


def test_a_dag_over_the_crds_200_tasks_is_split_and_what_cannot_fit_is_refused_with_the_controllers_message() -> None:
    """101 fan-outs are 202 tasks (each has its numbering task): split into nested DAGs of at most 200 (v4's CRD cap);
    201 fan-outs are 201 step templates, over the cap on a workflow's templates: the ones past it are written inline
    in their tasks. With a parallelism each also has its loop wrapper, a DAG template: 201 of those, which nothing
    can inline, are refused in the controller's words."""
    doc = yaml.safe_load(ArgoBackend({"default_image": STEP_IMAGE}).compile(lower(fan_outs(101))).main.content)
    assert max(len(t["dag"]["tasks"]) for t in doc["spec"]["templates"] if "dag" in t) <= 200
    doc = yaml.safe_load(ArgoBackend({"default_image": STEP_IMAGE}).compile(lower(fan_outs(201))).main.content)
    assert len(doc["spec"]["templates"]) == 200
    with pytest.raises(
        FlowyardError, match=r"Argo 4\.1\.2 would refuse.*spec\.templates: Too many: \d+: must have at most 200"
    ):
        ArgoBackend({"default_image": STEP_IMAGE}).compile(lower(fan_outs(201, parallelism=1)))
    ArgoBackend({"default_image": STEP_IMAGE, "argo_version": "3.7.9"}).compile(lower(fan_outs(201, parallelism=1)))


def test_a_cron_workflow_name_over_52_characters_is_refused_with_the_controllers_message() -> None:
    backend = ArgoBackend({"default_image": STEP_IMAGE, "kind": "CronWorkflow", "schedule": "0 * * * *"})
    with pytest.raises(FlowyardError, match=r"cron workflow name \"p{53}\" must not be more than 52 characters"):
        backend.compile(lower(fan_outs(1, "p" * 53)))
    backend.compile(lower(fan_outs(1, "p" * 52)))
