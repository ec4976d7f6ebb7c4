"""Rendering references into Argo's template syntax: the ``{{...}}`` tag or path each one becomes in a step's
template (and the arguments its task passes for it), values Argo would substitute refused by name."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flowyard.ir import (
    ConditionIR,
    InputIR,
    InputRef,
    ItemRef,
    ItemSource,
    LiteralSource,
    OutputPathRef,
    ParamRef,
    ParamSource,
    RunStatusRef,
    StepIR,
    StepOutputSource,
    Template,
    TemplateSource,
)
from flowyard.templates import render, render_value

from flowyard_argo.errors import CompileError
from flowyard_argo.items import item_expression
from flowyard_argo.layout import CompilerLayout
from flowyard_argo.names import P_ITEM, field_param
from flowyard_argo.on_exit import P_RUN_STATUS, RUN_STATUS_TAG


def unquotable(text: str) -> str | None:
    """The first character Argo cannot substitute into a template, described; ``None`` when there is none.

    The controller inserts a simple tag's value with ``strconv.Quote`` and parses the JSON back
    (``util/template/simple_template.go``); Go writes C0 controls other than ``\\b\\t\\n\\f\\r``, DEL
    and non-printable characters beyond U+FFFF as ``\\xNN``/``\\a``/``\\v``/``\\UXXXXXXXX``, which JSON rejects.
    """
    for ch in text:
        code = ord(ch)
        if (code < 0x20 and ch not in "\b\t\n\f\r") or code == 0x7F or (code > 0xFFFF and not ch.isprintable()):
            return f"U+{code:04X}"
    return None


@dataclass
class StepCalls:
    """What one step needs from the DAG that calls it: argument values keyed by input name."""

    parameters: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)  # input parameter name -> the file its value is written to


@dataclass(frozen=True)
class StepReferences:
    """What each reference becomes in one step's template: an Argo ``{{...}}`` expression or path."""

    compiler: Rendering
    step: StepIR
    calls: StepCalls
    where: str

    def text(self, text: str) -> str:
        return self.compiler._literal_text(text, self.where)

    def param(self, ref: ParamRef) -> str:
        return f"{{{{workflow.parameters.{ref.name}}}}}"

    def item(self, ref: ItemRef) -> str:
        return self.compiler.item_param(self.step, ref.fields, self.calls)

    def input(self, ref: InputRef) -> str:
        inp = self.step.input(ref.name)
        if ref.path:
            return self.compiler.input_path(self.step, inp)
        return self.compiler.value_text(self.step, inp, self.calls, self.where)[1]

    def output_path(self, ref: OutputPathRef) -> str:
        return self.compiler.output_path(self.step, self.step.output(ref.name))

    def run_status(self, ref: RunStatusRef) -> str:
        self.calls.parameters[P_RUN_STATUS] = "{{workflow.status}}"  # each alternative of the handler sets it
        return RUN_STATUS_TAG


class Rendering(CompilerLayout):
    """What references, values and conditions become in one step's template and task."""

    def _literal_text(self, text: str, where: str) -> str:
        if "{{" in text:
            raise CompileError(f"{where}: Argo would read '{{{{' in {text[:60]!r} as its own placeholder")
        return text

    def render(self, step: StepIR, tpl: Template, calls: StepCalls, where: str) -> str:
        return render(tpl, StepReferences(self, step, calls, where))

    def item_param(self, step: StepIR, fields: tuple[str, ...], calls: StepCalls) -> str:
        if not fields:
            calls.parameters[P_ITEM] = "{{item.item}}"
            return item_expression(f"inputs.parameters['{P_ITEM}']")
        k = self.items[step.name].fields.index(fields)
        calls.parameters[field_param(k)] = f"{{{{item.f{k}}}}}"
        return item_expression(f"inputs.parameters['{field_param(k)}']")

    def value_text(self, step: StepIR, inp: InputIR, calls: StepCalls, where: str) -> tuple[str, str]:
        """(encoding, text) of a value input inside the step's template."""
        src = inp.source
        if isinstance(src, LiteralSource):
            if isinstance(src.value, str):
                return "rendered", self._literal_text(src.value, where)
            return "json", self._literal_text(json.dumps(src.value, ensure_ascii=False), where)
        if isinstance(src, TemplateSource):
            return "rendered", self.render(step, src.template, calls, where)
        if isinstance(src, ParamSource):
            return "rendered", f"{{{{workflow.parameters.{src.name}}}}}"
        if isinstance(src, ItemSource):
            return "rendered", self.item_param(step, src.fields, calls)
        assert isinstance(src, StepOutputSource)
        container = step.kind == "container" and step is not self.ir.on_exit
        reader = self.read_ref if container else self.output_ref
        calls.parameters[inp.name] = reader(src.step, src.output)
        producer = self.steps[src.step]
        encoding = "rendered" if producer.kind == "python" else "json"
        return encoding, f"{{{{inputs.parameters.{inp.name}}}}}"

    def condition(self, step: StepIR, cond: ConditionIR) -> str:
        def side(src: Any) -> str:
            if isinstance(src, LiteralSource):
                if isinstance(src.value, str):
                    if "'" in src.value:
                        raise CompileError(f"step {step.name!r}: a quote in the condition literal {src.value!r}")
                    return f"'{src.value}'"
                return render_value(src.value)
            if isinstance(src, ParamSource):
                text, quoted = f"{{{{workflow.parameters.{src.name}}}}}", self.quoted_parameter(step, src.name)
            elif isinstance(src, ItemSource):
                fields = self.items[step.name].fields
                text = item_expression("item.item" if not src.fields else f"item.f{fields.index(src.fields)}")
                quoted = True
            elif isinstance(src, StepOutputSource):
                text = self.read_ref(src.step, src.output)
                quoted = self.steps[src.step].output(src.output).type == "string"
            else:
                raise CompileError(f"step {step.name!r}: condition side {src!r}")
            return f"'{text}'" if quoted else text

        return f"{side(cond.left)} {cond.op} {side(cond.right)}"

    def quoted_parameter(self, step: StepIR, name: str) -> bool:
        """Whether a parameter's side of ``when`` is quoted: strings are (an ``any`` holding one too, as its
        spaces would break govaluate); a value govaluate cannot hold inside quotes is refused by name.

        Argo inserts the value as is, and govaluate ends a quoted string at either quote and reads a
        backslash as an escape (``lexer.go`` ``readUntilFalse``), so such a value would rewrite the condition.
        """
        param = self.ir.parameter(name)
        value = self.values.get(name, param.default)
        if param.type not in ("string", "any") or (param.type == "any" and not isinstance(value, str)):
            return False
        bad = next((ch for ch in ("'", '"', "\\") if isinstance(value, str) and ch in value), None)
        if bad is not None:
            raise CompileError(
                f"parameter {name!r}: its value holds {bad}, which would rewrite step {step.name!r}'s condition "
                "in Argo's govaluate (a quoted string ends at either quote; a backslash escapes)"
            )
        return True
