"""kfp.local run benchmark: an N-item fan-out with a fan-in, run by `flowyard run --backend kubeflow`.

    uv run python benchmarks/bench_kubeflow_local.py            # 1,000 items (many minutes: kfp.local)
    uv run python benchmarks/bench_kubeflow_local.py --smoke    # 20 items (CI)

Three columns, measured in the same run: "ours" is ``KubeflowBackend.run`` (kfp.local's
SubprocessRunner driving the compiled package, every task a lightweight component running flowyard's
function-task runtime); "kfp alone" is what a kfp user runs for the same shape with kfp.local (a
``ParallelFor`` of a trivial lightweight component and a ``dsl.Collected`` fan-in): kfp.local's own
per-task cost, the floor; "local" is flowyard's local backend on the same pipeline. The figures are
seconds per run and per task, and ours/kfp-alone.

No ``from __future__ import annotations`` here: kfp reads the component's annotations as objects.
"""

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

from flowyard._lowering import lower
from flowyard._params import resolve_params
from flowyard.runs import RunRequest
from flowyard.spec import Output, Parameter, Pipeline, PythonFunction, Step
from flowyard_kubeflow import KubeflowBackend
from flowyard_local import LocalBackend

FN = "flowyard.testing.functions"


def fan_out_fan_in(n: int) -> Pipeline:
    return Pipeline(
        name="fan-out-fan-in",
        defaults={"image": "python:3.11"},
        parameters={"xs": Parameter(type="list", default=list(range(n)))},
        steps={
            "double": Step(
                for_each="${{ params.xs }}",
                python=PythonFunction(function=f"{FN}:double"),
                inputs={"x": "${{ item }}"},
                outputs={"y": Output(type="number")},
            ),
            "total": Step(
                python=PythonFunction(function=f"{FN}:total"),
                inputs={"xs": "${{ steps.double.outputs.y }}"},
                outputs={"t": Output(type="number")},
            ),
        },
        outputs={"total": "${{ steps.total.outputs.t }}"},
    )


def kfp_alone(n: int, root: Path) -> float:
    from kfp import compiler, components, dsl, local

    @dsl.component(base_image="python:3.11", install_kfp_package=False)
    def double(x: int) -> float:
        return x * 2.0

    @dsl.component(base_image="python:3.11", install_kfp_package=False)
    def total(xs: list) -> float:
        return float(sum(xs))

    @dsl.pipeline(name="alone")
    def alone(xs: list) -> float:
        with dsl.ParallelFor(xs) as x:
            d = double(x=x)
        return total(xs=dsl.Collected(d.output)).output

    path = root / "alone.yaml"
    compiler.Compiler().compile(alone, str(path))
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root / "kfp-alone"))
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        result = components.load_component_from_file(str(path))(xs=list(range(n)))
    seconds = time.perf_counter() - started
    assert result.output == float(sum(2 * i for i in range(n))), result.output
    return seconds


def ours(backend: object, n: int, root: Path) -> float:
    ir = lower(fan_out_fan_in(n))
    request = RunRequest(params=resolve_params(ir, {}), runs_root=root / "runs")
    started = time.perf_counter()
    status = backend.run(ir, request)  # type: ignore[attr-defined]
    seconds = time.perf_counter() - started
    assert status.state.value == "Succeeded", status.message
    assert status.outputs["total"] == sum(2 * i for i in range(n)), status.outputs
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small and quick, for CI")
    parser.add_argument("--items", type=int, default=None)
    args = parser.parse_args()
    n = args.items or (20 if args.smoke else 1000)
    tasks = n + 1
    with tempfile.TemporaryDirectory(prefix="bench-kfp-local-") as tmp:
        root = Path(tmp)
        alone = kfp_alone(n, root)
        kubeflow = ours(KubeflowBackend(), n, root)
        local = ours(LocalBackend(), n, root)
    print(f"fan-out of {n} items + fan-in ({tasks} tasks), one run each")
    for name, seconds in (("kfp alone (kfp.local floor)", alone), ("ours: run --backend kubeflow", kubeflow)):
        print(f"  {name:32} {seconds:8.1f} s  {1000 * seconds / tasks:7.0f} ms/task")
    print(f"  {'local backend':32} {local:8.1f} s  {1000 * local / tasks:7.0f} ms/task")
    print(f"  ours / kfp alone: {kubeflow / alone:.2f}x   ours / local: {kubeflow / local:.2f}x")


if __name__ == "__main__":
    main()
