"""Argo executor expression tags: what a ``{{=...}}`` tag costs over a simple ``{{...}}`` tag, measured in the
same run, interleaved, over the same replace map (the compiled fan-out's item read-back, a ``when``-style
comparison, and a closure).

    uv run python benchmarks/bench_argo_expressions.py            # 15 interleaved repeats
    uv run python benchmarks/bench_argo_expressions.py --smoke    # 3 repeats

No target: the figure says what expressions add to a manifest's substitution here (a pod costs about 150 ms).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from flowyard_argo.executor.template import replace_tags
from flowyard_argo.executor.versions import argo_version

VALUES: dict[str, str | None] = {
    "inputs.parameters.flowyard-f0": '{"v":{"msg":"activator run 1"}}',
    "inputs.parameters.x": "abc",
    **{f"workflow.parameters.p{i}": str(i) for i in range(50)},
}
TAGS = {
    "simple": "{{inputs.parameters.x}}",
    "jsonpath": "{{=jsonpath(inputs.parameters['flowyard-f0'], '$.v')}}",
    "comparison": "{{=asInt(workflow.parameters.p7) * 10 > 60 && inputs.parameters.x == 'abc'}}",
    "closure": "{{=filter([1, 2, 3, 4], # % 2 == 0)}}",
}


def per_tag(text: str, rounds: int) -> float:
    version = argo_version(None)
    start = time.perf_counter()
    for _ in range(rounds):
        replace_tags(text, VALUES, allow_unresolved=True, version=version)
    return (time.perf_counter() - start) / rounds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    repeats = 3 if parser.parse_args().smoke else 15
    texts = {name: json.dumps({"a": tag}) for name, tag in TAGS.items()}
    times: dict[str, list[float]] = {name: [] for name in TAGS}
    for _ in range(repeats):
        for name, text in texts.items():
            times[name].append(per_tag(text, 200))
    baseline = statistics.median(times["simple"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:11s} median {median * 1e6:8.1f} us per tag  ({median / baseline:6.1f}x the simple tag)")


if __name__ == "__main__":
    main()
