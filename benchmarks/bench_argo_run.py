"""Argo executor run benchmark: the compiled variant 2 manifest executed against the local backend.

    uv run python benchmarks/bench_argo_run.py              # 1,000 messages, 3 interleaved repeats
    uv run python benchmarks/bench_argo_run.py --smoke      # 10 messages, 1 repeat (CI)

"ours" is ``flowyard run examples/activator_processor/fanout.yaml --backend argo`` (compile, then execute the
manifest by the controller's rules, every item a pod forked by the run's pod launcher); the baseline is the same
command with the local backend (each item a plain subprocess). Both are whole processes with the same messages,
bytecode compiled first (as bench_local.py does), run alternately after one warm-up each. The local backend runs
the seed's two apps from the example's ``bin/`` by their ``#!/usr/bin/env python3`` (this environment's
interpreter, first on PATH); the pods see that folder read-only at ``/opt/seed`` and run the apps with the host's
``/usr/bin/python3`` (the environment's interpreter is not inside a pod; it starts about 3 ms slower, which favours
the pods slightly). Target (issue 15): ours <= 1.5x the local backend, median of interleaved repeats.

Where the time goes comes from one more run of each side, in a wrapper that reports the process's own CPU (the
controller model, or the local scheduler, and their file work) apart from its children's (pods, or subprocesses),
and from the seed's program run alone: per pod, the set-up (the launcher's fork, namespaces, mounts) is the pod's
CPU less the program's. The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples" / "activator_processor"
PY = sys.executable
HOST_PYTHON = "/usr/bin/python3"
ENV = {**os.environ, "PATH": f"{Path(PY).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
TARGET = 1.5
# Runs the CLI in this interpreter, then prints its own CPU and its waited children's (seconds) as JSON on the
# descriptor named by BENCH_CPU_FD.
WRAPPER = """
import json, os, resource, sys
from flowyard._cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
else:
    code = 0
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = {"self": me.ru_utime + me.ru_stime, "children": kids.ru_utime + kids.ru_stime}
os.write(int(os.environ["BENCH_CPU_FD"]), json.dumps(cpu).encode())
sys.exit(code)
"""


@dataclass(frozen=True)
class Sample:
    seconds: float
    cpu: float  # the process's and its waited descendants' user+system seconds


def run_process(argv: list[str], work: Path) -> Sample:
    """One whole process in a fresh folder of ``work``: wall time and CPU (from ``os.wait4``)."""
    cwd = Path(tempfile.mkdtemp(dir=work))
    os.sync()  # untimed: no run pays for writing back what the one before it left dirty
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}\n{err[-2000:]}")
    return Sample(elapsed, usage.ru_utime + usage.ru_stime)


def cpu_split(argv: list[str], work: Path) -> tuple[dict[str, float], dict[str, object]]:
    """One run of the CLI in the wrapper: its own CPU and its children's, and the run's ``--json`` summary."""
    cwd = Path(tempfile.mkdtemp(dir=work))
    read, write = os.pipe()
    start = time.perf_counter()
    proc = subprocess.run(
        [PY, "-c", WRAPPER, *argv],
        cwd=cwd,
        env={**ENV, "BENCH_CPU_FD": str(write)},
        capture_output=True,
        text=True,
        pass_fds=(write,),
        check=False,
    )
    wall = time.perf_counter() - start
    os.close(write)
    with os.fdopen(read) as pipe:
        cpu = json.loads(pipe.read() or "{}")
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}\n{proc.stderr[-2000:]}")
    return {"wall": wall, **cpu}, json.loads(proc.stdout)


def program_alone(messages: list[dict[str, object]], work: Path) -> tuple[float, float]:
    """The seed's two apps as plain subprocesses, once per message: (wall, CPU) seconds per app run."""
    folder = Path(tempfile.mkdtemp(dir=work))
    before, start = os.times(), time.perf_counter()
    for message in messages:
        subprocess.run([HOST_PYTHON, str(EXAMPLES / "bin" / "activator"), json.dumps(message["event"])],
                       cwd=folder, stdout=subprocess.DEVNULL, check=True)  # fmt: skip
        subprocess.run([HOST_PYTHON, str(EXAMPLES / "bin" / "processor")], cwd=folder, stdout=subprocess.DEVNULL,
                       check=True)  # fmt: skip
    wall, after = time.perf_counter() - start, os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall / (2 * len(messages)), cpu / (2 * len(messages))


def documents(summary: dict[str, object]) -> list[object]:
    """The run's ``events`` output: the files' JSON documents, in item order."""
    paths = summary["outputs"]["events"]  # type: ignore[index]
    return [json.loads(Path(p).read_text()) for p in paths]


def compile_bytecode() -> None:
    """Compile every module the runs import, as an installed flowyard has (this machine sets
    PYTHONDONTWRITEBYTECODE: otherwise the argo side would compile hera and its own modules in every run)."""
    import sysconfig

    repo = HERE.parent
    paths = [sysconfig.get_paths()["purelib"], str(repo / "core" / "src"), *map(str, repo.glob("backends/*/src"))]
    subprocess.run([PY, "-m", "compileall", "-q", "-j", "0", *paths], check=False, stdout=subprocess.DEVNULL)


def step_seconds(summary: dict[str, object], step: str) -> list[float]:
    """Each task's duration of ``step``, from the run's ``--json`` summary (the activator's run 2 at once)."""
    tasks = summary["tasks"]
    return [float(t["duration_seconds"]) for t in tasks if t["step"] == step]  # type: ignore[attr-defined,index]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def spread(xs: list[float]) -> str:
    return f"{min(xs):.2f}-{max(xs):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="10 messages, one repeat")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--messages", type=int, default=None, help="how many messages (default 1,000; smoke 10)")
    args = parser.parse_args()
    from flowyard_argo.executor.pods import namespaces_available

    if not namespaces_available():
        print("argo run: skipped (no mount/network namespaces here for the executor's pods)")
        return
    compile_bytecode()
    work = Path(tempfile.mkdtemp(prefix="flowyard-bench-argo-run-"))
    try:
        measure(
            work, args.messages or (10 if args.smoke else 1000), args.repeats or (1 if args.smoke else 3), args.smoke
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def inputs(work: Path, n: int) -> tuple[Path, Path]:
    """The messages (as bench_local.py makes them) and the seed image's map, written under ``work``."""
    messages = [{"id": str(i), "event": {"msg": f"activator run {i}", "n": i}} for i in range(n)]
    params = work / f"messages-{n}.json"
    params.write_text(json.dumps({"messages": messages}))
    images = work / "images.json"
    programs = {name: [HOST_PYTHON, f"/opt/seed/{name}"] for name in ("activator", "processor")}
    images.write_text(json.dumps({"nasa-hsi": {"programs": programs, "mounts": {"/opt/seed": str(EXAMPLES / "bin")}}}))
    return params, images


def measure(work: Path, n: int, repeats: int, smoke: bool) -> None:
    params, images = inputs(work, n)
    (work / "warm").mkdir()
    warm, _ = inputs(work / "warm", 2)
    run = ["run", str(EXAMPLES / "fanout.yaml"), "--json"]
    argo = ["--backend", "argo", "-O", f"image_map={images}"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; {n:,} messages "
        f"({2 * n + 1:,} pods), {repeats} repeat(s); load average before: {load_average()}"
    )
    flowyard = [PY, "-m", "flowyard._cli", *run]
    sides = [[*flowyard, "--params-file", str(params), *argo], [*flowyard, "--params-file", str(params)]]
    for side in ([*flowyard, "--params-file", str(warm), *argo], [*flowyard, "--params-file", str(warm)]):
        run_process(side, work)  # warm-up: the page cache filled (files, interpreters, the example)
    ours: list[Sample] = []
    base: list[Sample] = []
    for _ in range(repeats):
        ours.append(run_process(sides[0], work))
        base.append(run_process(sides[1], work))
    load = load_average()
    o, b = statistics.median(s.seconds for s in ours), statistics.median(s.seconds for s in base)
    ratio = o / b
    verdict = "(smoke size)" if smoke else ("MET" if ratio <= TARGET else "MISSED")
    for label, samples, median in (("argo executor", ours, o), ("local backend", base, b)):
        cpu = statistics.median(s.cpu for s in samples)
        print(f"{label}  {median:8.2f}s ({spread([s.seconds for s in samples])})  CPU {cpu:7.2f}s")
    print(f"ratio          x{ratio:.2f}  target <= {TARGET}x  {verdict}   (load average after: {load})")
    explain(work, n, [*run, "--params-file", str(params)], argo)


def explain(work: Path, n: int, run: list[str], argo: list[str]) -> None:
    """Where each side's time goes: its own CPU, its children's, and per pod the set-up apart from the program."""
    (ours, ours_summary), (base, base_summary) = cpu_split([*run, *argo], work), cpu_split(run, work)
    if documents(ours_summary) != documents(base_summary):
        raise SystemExit("the argo executor's outputs differ from the local backend's")
    pods = len(ours_summary["tasks"])  # type: ignore[arg-type]
    app_wall, app_cpu = program_alone(
        [{"event": {"msg": f"activator run {i}", "n": i}} for i in range(min(n, 50))], work
    )
    per_pod = ours["children"] / pods
    print(f"\nwhere the time goes (one more run each; {pods:,} pods, {2 * n:,} app runs; outputs identical):")
    print(f"  {'':<16}{'wall':>9}{'own CPU':>10}{'children CPU':>14}{'per app run':>13}")
    for label, side in (("argo executor", ours), ("local backend", base)):
        print(f"  {label:<16}{side['wall']:8.2f}s{side['self']:9.2f}s{side['children']:13.2f}s"
              f"{side['children'] / (2 * n) * 1000:10.1f} ms")  # fmt: skip
    for step in ("activator", "processor"):
        o, b = step_seconds(ours_summary, step), step_seconds(base_summary, step)
        print(f"  {step}: median task {statistics.median(o) * 1000:.0f} ms (argo pod) against "
              f"{statistics.median(b) * 1000:.0f} ms (local); summed {sum(o):.1f}s against {sum(b):.1f}s")  # fmt: skip
    print(f"  the app alone (plain subprocess): {app_wall * 1000:.1f} ms wall, {app_cpu * 1000:.1f} ms CPU per run")
    print(f"  per pod: set-up {(per_pod - app_cpu) * 1000:.1f} ms CPU (launcher, namespaces, mounts) + the app "
          f"{app_cpu * 1000:.1f} ms; the controller model's own work {ours['self'] / pods * 1000:.1f} ms CPU per pod "
          f"(local's scheduler: {base['self'] / (2 * n) * 1000:.1f} ms per task)")  # fmt: skip


if __name__ == "__main__":
    main()
