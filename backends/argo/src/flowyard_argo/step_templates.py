"""One container template per step, and the item helper's: command, environment, inputs and outputs, retries,
deadline and resources."""

from __future__ import annotations

import math
from typing import Any

from flowyard.ir import ContainerIR, ParamSource, PythonIR, StepIR, StepOutputSource, TemplateSource
from flowyard.stepimage.step import JSON_SUFFIX
from flowyard.templates import assert_never, render
from hera.workflows import (
    Artifact,
    Container,
    Env,
    NoneArchiveStrategy,
    Parameter,
    RawArtifact,
    RetryStrategy,
    SecretEnv,
)
from hera.workflows import models as m

from flowyard_argo.artifacts import ArtifactWiring
from flowyard_argo.errors import CompileError
from flowyard_argo.helper import COUNT_PATH, DATA_PATH, ITEMS_PATH, READ_DATA, SCRIPT
from flowyard_argo.names import (
    ARGV_STRING_LIMIT,
    COLLECTED_DIR,
    DEFAULT_WORKDIR,
    HELPER,
    HELPER_FILE,
    P_INDEX,
    VALUES_DIR,
    VALUES_IN_DIR,
)
from flowyard_argo.references import Rendering, StepCalls, StepReferences


class StepTemplates(ArtifactWiring, Rendering):
    """The container templates."""

    def step_template(self, step: StepIR) -> tuple[Container, StepCalls]:
        calls = StepCalls()
        where = f"step {step.name!r}"
        artifacts_in = [self.input_artifact(step, i, calls) for i in step.inputs if i.type == "file"]
        artifacts_out = [self.output_artifact(step, o) for o in step.outputs if o.type == "file"]
        params_out = []
        for out in step.outputs:
            if out.type == "file":
                continue
            path = f"{VALUES_DIR}/{out.name}" if step.kind == "python" else self.output_path(step, out)
            params_out.append(Parameter(name=out.name, value_from=m.ValueFrom(path=path)))
            if (step.name, out.name) in self.listed:  # the item helper reads it as a file: a Python step's as JSON
                listed = f"{path}{JSON_SUFFIX}" if step.kind == "python" else path  # (its text: a string bare)
                artifacts_out.append(self.list_artifact_of(step, out, listed))
        match step.body:
            case PythonIR():
                command, written = self.python_command(step, calls, where)
                artifacts_in += [
                    RawArtifact(name=f"flowyard-raw-{n}", path=path, data=text) for n, (path, text) in written.items()
                ]
                workdir = None
            case ContainerIR(command=templates):
                refs = StepReferences(self, step, calls, where)  # one for the whole command: a step has many parts
                command = [render(t, refs) for t in templates]
                workdir = self.workdir(step)
            case _:
                assert_never(step.body)
        env: list[Any] = [Env(name=k, value=self.render(step, t, calls, f"{where}, env {k}")) for k, t in step.env]
        env += [SecretEnv(name=s.env, secret_name=s.secret, secret_key=s.key) for s in step.secrets]
        if step.for_each is not None:
            calls.parameters[P_INDEX] = "{{item.index}}"
        params_in = [Parameter(name=n) for n in calls.parameters]
        # argoexec's init container writes a raw artifact's data, the parameter substituted, to its path
        artifacts_in += [
            RawArtifact(name=f"flowyard-raw-{n}", path=path, data=f"{{{{inputs.parameters.{n}}}}}")
            for n, path in calls.raw.items()
        ]
        container = Container(
            name=step.dns_name,
            image=step.image or self.options.default_image,
            image_pull_policy=self.options.image_pull_policy,
            command=command,
            working_dir=workdir,
            env=env or None,
            inputs=[*params_in, *artifacts_in] or None,
            outputs=[*params_out, *artifacts_out] or None,
            retry_strategy=self.retry(step),
            active_deadline_seconds=math.ceil(step.timeout_seconds) if step.timeout_seconds is not None else None,
            resources=self.resources(step),
        )
        return container, calls

    def python_command(
        self, step: StepIR, calls: StepCalls, where: str
    ) -> tuple[list[str], dict[str, tuple[str, str]]]:
        """The step entrypoint's argv, and the values it reads from files (input -> (path, the raw artifact's text,
        substituted in the template as the argv would have been))."""
        assert step.python is not None
        written: dict[str, tuple[str, str]] = {}
        argv = [self.options.python, "-m", "flowyard.step", "exec", "--kind", "python"]
        argv += ["--function", step.python.function, "--workdir", DEFAULT_WORKDIR]
        for inp in step.inputs:
            if inp.type == "file":
                collected = isinstance(inp.source, StepOutputSource) and inp.source.collect
                argv += ["--folder" if collected else "--file", inp.name, self.input_path(step, inp)]
            elif isinstance(inp.source, StepOutputSource) and inp.source.collect:
                count_param = f"flowyard-count-{inp.name}"
                calls.parameters[inp.name] = self.output_ref(inp.source.step, inp.source.output)
                calls.parameters[count_param] = self.items[inp.source.step].count
                item_type = self.steps[inp.source.step].output(inp.source.output).type
                # through a file: the aggregate can be over Linux's 131,072 bytes for one argv string (E2BIG)
                path = calls.raw[inp.name] = f"{COLLECTED_DIR}/{inp.name}"
                argv += ["--collected-file", inp.name, item_type, f"{{{{inputs.parameters.{count_param}}}}}", path]
            elif isinstance(inp.source, StepOutputSource):
                encoding, _ = self.value_text(step, inp, calls, f"{where}, input {inp.name!r}")
                # through a file: a list or object output can be over Linux's 131,072 bytes for one argv string
                path = calls.raw[inp.name] = f"{VALUES_IN_DIR}/{inp.name}"
                argv += ["--value-file", inp.name, inp.type, encoding, path]
            else:
                encoding, text = self.value_text(step, inp, calls, f"{where}, input {inp.name!r}")
                if isinstance(inp.source, ParamSource | TemplateSource) or len(text.encode()) > ARGV_STRING_LIMIT:
                    # through a file: a parameter's value comes at submit time and can be over Linux's 131,072
                    # bytes for one argv string (E2BIG), where locally the function gets it
                    written[inp.name] = (f"{VALUES_IN_DIR}/{inp.name}", text)
                    argv += ["--value-file", inp.name, inp.type, encoding, written[inp.name][0]]
                else:
                    argv += ["--value", inp.name, inp.type, encoding, text]
        for out in step.outputs:
            path = self.output_path(step, out) if out.type == "file" else f"{VALUES_DIR}/{out.name}"
            argv += ["--output", out.name, out.type, path]
        argv += ["--values-dir", VALUES_DIR]
        if step.for_each is not None:
            argv += ["--index", f"{{{{inputs.parameters.{P_INDEX}}}}}"]
        return argv, written

    def retry(self, step: StepIR) -> RetryStrategy | None:
        if not step.retry.limit:
            return None
        b = step.retry.backoff
        if b.max_duration_seconds is not None and self.options.argo_version == "3.6.19":
            raise CompileError(
                f"step {step.name!r}: retries.backoff.max_duration caps each wait; Argo 3.6 has no such cap "
                "(backoff.cap is from 3.7; its maxDuration is a total budget): compile with -O argo_version=3.7.9 "
                "or later, or drop max_duration"
            )
        # the spec's max_duration caps each wait: Argo's cap (3.7+), not maxDuration, a budget from the first
        # attempt (operator.go processNodeRetries)
        backoff = m.Backoff(
            duration=f"{b.duration_seconds:g}s",
            factor=m.IntOrString(int(b.factor)),
            cap=f"{b.max_duration_seconds:g}s" if b.max_duration_seconds is not None else None,
        )
        return RetryStrategy(limit=step.retry.limit, retry_policy="Always", backoff=backoff)

    def resources(self, step: StepIR) -> m.ResourceRequirements | None:
        r = step.resources
        if r.is_empty:
            return None
        amounts: dict[str, m.Quantity] = {}
        if r.cpu is not None:
            amounts["cpu"] = m.Quantity(r.cpu)
        if r.memory is not None:
            amounts["memory"] = m.Quantity(r.memory)
        limits = dict(amounts)
        if r.gpu:
            limits["nvidia.com/gpu"] = m.Quantity(str(r.gpu))
        return m.ResourceRequirements(requests=amounts or None, limits=limits or None)

    def helper_template(self, *, from_file: bool = False) -> Container:
        """The item helper; ``from_file``: its ``data`` is DATA_PATH, where Argo puts the upstream list."""
        data = [Artifact(name="data", path=DATA_PATH, archive=NoneArchiveStrategy())] if from_file else []
        return Container(
            name=HELPER_FILE if from_file else HELPER,
            image=self.options.helper_image,
            image_pull_policy=self.options.image_pull_policy,
            command=["python3", "-c", READ_DATA + SCRIPT if from_file else SCRIPT, "{{inputs.parameters.mode}}"],
            args=["{{inputs.parameters.data}}", "{{inputs.parameters.count}}", "{{inputs.parameters.fields}}"],
            inputs=[*(Parameter(name=n) for n in ("mode", "data", "count", "fields")), *data],
            outputs=[
                Parameter(name="items", value_from=m.ValueFrom(path=ITEMS_PATH)),
                Parameter(name="count", value_from=m.ValueFrom(path=COUNT_PATH)),
            ],
            termination_message_policy="FallbackToLogsOnError",  # its error reaches the node's message
        )
