"""Kubeflow compile benchmark: a 1,000-step pipeline through flowyard against kfp alone.

    uv run python benchmarks/bench_kubeflow.py            # 1,000 steps, 3 interleaved repeats (minutes)
    uv run python benchmarks/bench_kubeflow.py --smoke    # 30 steps, 1 repeat (CI)

"kfp alone" is what a kfp user writes for the same chain: one container component, called once per
step with that step's number, each task ``.after()`` the previous, compiled by
``kfp.compiler.Compiler``. "ours" is ``KubeflowBackend.compile(ir)`` from a lowered IR: one container
component per step (each step is its own in the spec), the same chain. kfp's pipeline definition is
quadratic in the number of tasks (it re-sanitises every task name per task), so both columns grow
fast; flowyard never unrolls what ``ParallelFor`` expresses (the 1,000-item fan-out line).

No ``from __future__ import annotations`` here: kfp reads the component's annotations as objects.
"""

import argparse
import statistics
import tempfile
from pathlib import Path

from compile_common import chain, interleaved, timed
from flowyard._lowering import lower
from flowyard.testing.pipelines import wide_fanout
from flowyard_kubeflow import KubeflowBackend


def kfp_alone(n: int) -> str:
    from kfp import compiler, dsl

    @dsl.container_component
    def echo(message: str, i: int) -> dsl.ContainerSpec:
        return dsl.ContainerSpec(image="alpine:3", command=["echo", message, i])

    @dsl.pipeline(name="wide")
    def wide(message: str = "hello") -> None:
        previous = None
        for i in range(n):
            task = echo(message=message, i=i).set_caching_options(False)
            if previous is not None:
                task.after(previous)
            previous = task

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        compiler.Compiler().compile(wide, str(path))
        return path.read_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small and quick, for CI")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    n = args.steps or (30 if args.smoke else 1000)
    repeats = args.repeats or (1 if args.smoke else 3)

    backend = KubeflowBackend()
    ir = lower(chain(n))
    ours, base = interleaved(lambda: backend.compile(ir), lambda: kfp_alone(n), repeats)
    size = len(backend.compile(ir).main.content.encode())
    base_size = len(kfp_alone(n).encode())
    fan = lower(wide_fanout(1000))
    fan_backend = KubeflowBackend({"default_image": "img"})
    fan_time = statistics.median(timed(lambda: fan_backend.compile(fan)) for _ in range(3))
    o, b = statistics.median(ours), statistics.median(base)
    print(f"kubeflow compile, {n} steps (a chain of container steps), median of {repeats} interleaved repeats")
    print(f"  ours (IR -> package)   {o:7.2f} s  ({min(ours):.2f}-{max(ours):.2f})  {size / 1024:.0f} KiB")
    print(f"  kfp alone              {b:7.2f} s  ({min(base):.2f}-{max(base):.2f})  {base_size / 1024:.0f} KiB")
    print(f"  ratio                  {o / b:7.2f}x")
    print(f"  1,000-item fan-out (one ParallelFor): {fan_time:.3f} s")


if __name__ == "__main__":
    main()
