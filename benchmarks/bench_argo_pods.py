"""Argo executor pod start-up: what a pod (fresh mount and network namespaces, a tmpfs root, chroot) costs over
running the same command as a plain subprocess, measured in the same run, interleaved.

    uv run python benchmarks/bench_argo_pods.py            # 15 interleaved repeats
    uv run python benchmarks/bench_argo_pods.py --smoke    # 3 repeats

No target: the figure says what a manifest's pod count costs here (needs mount and network namespaces: root, or
user namespaces). The first pod also starts the pod launcher, once for all.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from flowyard_argo.executor.images import ImageMap
from flowyard_argo.executor.pods import PodSpec, namespaces_available, run_pod


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    repeats = 3 if parser.parse_args().smoke else 15
    if not namespaces_available():
        print("pods: skipped (no mount/network namespaces here)")
        return
    image = ImageMap.load(None).image("python:3.12")
    python = list(image.resolve("python"))
    plain, pods = [], []
    with tempfile.TemporaryDirectory(prefix="flowyard-bench-pods-") as tmp:
        for i in range(repeats):
            start = time.perf_counter()
            subprocess.run([*python, "-c", "pass"], check=True)
            plain.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = run_pod(PodSpec(f"p{i}", image, ["python", "-c", "pass"]), Path(tmp) / f"p{i}")
            pods.append(time.perf_counter() - start)
            assert result.exit_code == 0
    base, pod = statistics.median(plain), statistics.median(pods)
    print(f"plain subprocess   median {base * 1000:7.1f} ms")
    print(f"pod (namespaces)   median {pod * 1000:7.1f} ms   {pod / base:.1f}x   +{(pod - base) * 1000:.0f} ms per pod")


if __name__ == "__main__":
    main()
