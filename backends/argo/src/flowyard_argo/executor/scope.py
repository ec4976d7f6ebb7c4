"""What a finished node adds to the scope of later steps/tasks: ``buildLocalScope`` and
``processAggregateNodeOutputs`` (``workflow/controller/operator.go``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowyard.runs import TaskState
from flowyard_argo.executor import gojson
from flowyard_argo.executor.items import Item
from flowyard_argo.executor.nodes import Node


class AggregateError(ValueError):
    """A loop's results the controller cannot aggregate (message as Go's decoder words it)."""


@dataclass
class Scope:
    """Values (``steps.a.outputs.result``...) and artifacts (``steps.a.outputs.artifacts.x``) seen so far."""

    values: dict[str, str | None] = field(default_factory=dict)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of_template(cls, template: Mapping[str, Any]) -> Scope:
        """``createScope`` (``workflow/controller/scope.go``): a DAG's or steps' template's bound input artifacts, so
        a task's ``from: "{{inputs.artifacts.A}}"`` finds them; an optional one not supplied is there too, with
        nowhere to load from (``ProcessArgs`` decides what its consumer makes of that)."""
        scope = cls()
        for art in (template.get("inputs") or {}).get("artifacts") or []:
            scope.artifacts[f"inputs.artifacts.{art['name']}"] = art
        return scope

    def add_node(self, prefix: str, node: Node) -> None:
        """``buildLocalScope``: the node's id, times, status, exit code and outputs under ``prefix``."""
        self.values[f"{prefix}.id"] = node.id
        self.values[f"{prefix}.status"] = node.phase.value
        if node.started_at is not None:
            self.values[f"{prefix}.startedAt"] = _timestamp(node.started_at)
        if node.finished_at is not None:
            self.values[f"{prefix}.finishedAt"] = _timestamp(node.finished_at)
        outputs = node.outputs
        if "exitCode" in outputs:
            self.values[f"{prefix}.exitCode"] = str(outputs["exitCode"])
        if "result" in outputs:
            self.values[f"{prefix}.outputs.result"] = outputs["result"]
        for param in outputs.get("parameters", []):
            self.values[f"{prefix}.outputs.parameters.{param['name']}"] = param.get("value")
        for art in outputs.get("artifacts", []):
            self.artifacts[f"{prefix}.outputs.artifacts.{art['name']}"] = art

    def add_skipped(self, prefix: str, node: Node, template: Mapping[str, Any] | None) -> None:
        """``addSkippedNodeOutputsToScope`` (v4): a skipped/omitted node's declared outputs become their
        ``valueFrom.default``, else absent optionals (``None``), which fail substitution by name."""
        self.add_node(prefix, node)
        for param in ((template or {}).get("outputs") or {}).get("parameters") or []:
            default = (param.get("valueFrom") or {}).get("default")
            self.values[f"{prefix}.outputs.parameters.{param['name']}"] = None if default is None else str(default)

    def absent_reference(self, value: Any) -> bool:
        """``absentOptionalRef``: ``value`` is one pure ``{{key}}`` whose key holds an absent optional."""
        if not isinstance(value, str) or not value.startswith("{{") or not value.endswith("}}"):
            return False
        key = value[2:-2].strip()
        return "{{" not in key and "}}" not in key and key in self.values and self.values[key] is None

    def add_aggregate(self, prefix: str, children: Iterable[Node]) -> None:
        """A loop's outputs: succeeded children only, in item order, as JSON lists."""
        params: list[dict[str, str]] = []
        by_name: dict[str, list[str]] = {}
        results: list[Item] = []
        for node in children:
            if not node.outputs or node.phase is not TaskState.SUCCEEDED:
                continue
            if node.outputs.get("parameters"):
                entry = {p["name"]: p.get("value") or "" for p in node.outputs["parameters"]}
                params.append(entry)
                for name, value in entry.items():
                    by_name.setdefault(name, []).append(value)
            if "result" in node.outputs:
                try:
                    gojson.check_valid(node.outputs["result"])
                except gojson.GoJSONError as e:
                    raise AggregateError(str(e)) from None
                results.append(Item(node.outputs["result"]))
        self.values[f"{prefix}.outputs.result"] = "[" + ",".join(i.marshal() for i in results) + "]"
        self.values[f"{prefix}.outputs.parameters"] = gojson.marshal(params)
        for name, values in by_name.items():
            self.values[f"{prefix}.outputs.parameters.{name}"] = aggregated_json_value_list(values)

    def merged(self, *others: dict[str, str | None]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for other in others:
            out.update(other)
        out.update(self.values)
        return out


def aggregated_json_value_list(values: list[str]) -> str:
    """``aggregatedJSONValueList``: a list of objects/lists when every value is one, else a list of strings."""
    decoded: list[Any] = []
    for value in values:
        try:
            parsed = gojson.decode(value)
        except gojson.GoJSONError:
            return gojson.marshal(values)
        if not isinstance(parsed, (list, dict)):
            return gojson.marshal(values)
        decoded.append(parsed)
    return gojson.marshal(decoded)


def _timestamp(epoch: float) -> str:
    import datetime as _dt

    return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parameters_json(params: list[dict[str, Any]]) -> str:
    """``{{inputs.parameters}}``: the input parameter list as JSON."""
    return json.dumps(params, separators=(",", ":"))
