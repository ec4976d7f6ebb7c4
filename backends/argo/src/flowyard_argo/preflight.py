"""Pre-flight: what the controller (or v4's CRDs) would refuse, refused by name at compile and submit time.

The checks and their messages are the executor's port of ``validate.go`` and the CRD caps
(:mod:`flowyard_argo.executor.validate`), run for the release compiled for (``-O argo_version=``, default the
newest): the 200-item caps on a DAG's tasks and a workflow's templates (v4), the 52-character CronWorkflow
name, and every ``validate.go`` rule the executor follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowyard_argo.executor.validate import Problem, validate_kind, validate_workflow
from flowyard_argo.executor.versions import argo_version

# a compiled manifest leaves required parameters without a value: they are given when it is submitted
SUBMIT_TIME_RULES = ("validate.go validateArgumentsValues",)


def problems(document: Mapping[str, Any], version: str, *, submitting: bool = False) -> list[tuple[str, Problem]]:
    """(release, problem) for what ``version`` would refuse in ``document``; the kind's own name rule first."""
    found = [("all", p) for p in validate_kind(document)]
    spec = document.get("spec") or {}
    workflow = {"metadata": {}, "spec": spec.get("workflowSpec", spec)}  # a CronWorkflow nests its workflow
    if document.get("kind") == "Workflow":
        workflow["metadata"] = document.get("metadata") or {}
    found += [(version, p) for p in validate_workflow(workflow, argo_version(version))]
    return [(r, p) for r, p in found if submitting or p.rule not in SUBMIT_TIME_RULES]


def refusal(document: Mapping[str, Any], version: str, *, submitting: bool = False) -> str | None:
    """One line naming the first rule broken, in the controller's words, or ``None``."""
    found = problems(document, version, submitting=submitting)
    if not found:
        return None
    release, first = found[0]
    where = "every Argo release" if release == "all" else f"Argo {release}"
    return f"{where} would refuse the manifest ({first.rule}): {first.path}: {first.message}"
