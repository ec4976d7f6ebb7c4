"""Local backend benchmarks: whole-process medians of interleaved repeats, ours against a bare pool.

    uv run python benchmarks/bench_local.py            # full sizes (a few minutes)
    uv run python benchmarks/bench_local.py --smoke    # small sizes, one repeat (CI)

Each figure runs ours and its baseline alternately (this machine is noisy), as separate processes
with bytecode already compiled, and prints the median, the spread (min-max) and the ratio to the
baseline, against the target in docs/performance.md. Peak RSS comes from os.wait4 on each child.
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
REPO = HERE.parent
EXAMPLES = REPO / "examples" / "activator_processor"
PY = sys.executable
ENV = {**os.environ, "PATH": f"{Path(PY).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


@dataclass
class Sample:
    seconds: float
    max_rss_kb: int


def run_process(argv: list[str], cwd: Path) -> Sample:
    """Run one whole process in a fresh folder of ``cwd``; wall time and its own peak RSS.

    Both sides leave what they wrote (our run folder, the baseline's files) for the end of the
    benchmark to delete, untimed: neither pays for cleaning up. (Deleting between runs would time
    the disk's discards of one run inside the next.) The disk is synced before each run, untimed:
    no run pays for writing back what the one before it left dirty.
    """
    cwd = Path(tempfile.mkdtemp(dir=cwd))
    os.sync()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(argv)}\n{err[-2000:]}")
    return Sample(elapsed, usage.ru_maxrss)


def verdict(ok: bool, judged: bool) -> str:
    return ("MET" if ok else "MISSED") if judged else "(smoke size)"


def spread(xs: list[float]) -> str:
    return f"{min(xs):.3f}-{max(xs):.3f}"


@dataclass
class Figure:
    name: str
    ours: list[Sample]
    base: list[Sample] | None
    target: str
    limit: float  # ratio (or seconds/MB when base is None)
    notes: tuple[str, ...] = ()
    disk_us: tuple[float, float] | None = None  # creating a file, before and after the figure
    judged: bool = True  # False at smoke sizes: the targets are for the full ones

    def verdict(self, ok: bool) -> str:
        return verdict(ok, self.judged)

    def line(self) -> str:
        ours = [s.seconds for s in self.ours]
        m = statistics.median(ours)
        if self.base is None:
            ok = m <= self.limit
            return (
                f"{self.name:<44} ours {m:7.3f}s ({spread(ours)}){'':>34} target {self.target:<12} {self.verdict(ok)}"
            )
        base = [s.seconds for s in self.base]
        b = statistics.median(base)
        ratio = m / b
        ok = ratio <= self.limit
        return (
            f"{self.name:<44} ours {m:7.3f}s ({spread(ours)})  base {b:7.3f}s ({spread(base)})"
            f"  x{ratio:5.2f}  target {self.target:<12} {self.verdict(ok)}"
        ) + "".join(f"\n{'':<46}{note}" for note in self.notes)


def interleave(argvs: list[list[str]], repeats: int, cwd: Path) -> list[list[Sample]]:
    """Each command once to warm up, then ``repeats`` rounds of all of them in turn."""
    for argv in argvs:
        run_process(argv, cwd)  # warm-up: bytecode compiled, caches filled
    samples: list[list[Sample]] = [[] for _ in argvs]
    for _ in range(repeats):
        for argv, out in zip(argvs, samples, strict=True):
            out.append(run_process(argv, cwd))
    return samples


def create_cost_us(cwd: Path, n: int = 400) -> float:
    """Microseconds to create an empty file here, now (median of ``n``).

    On ext4 without a journal (this machine's disk) a new inode passes over every inode of its
    block group freed in the last minute (six while its inode table is unwritten), each one a cache
    lookup: for minutes after a big deletion nearby (a test run, the end of the previous
    benchmark), every file a run creates costs several times as much, and a run that creates more
    files per task suffers more. Printed before and after each figure, flagged when well above the
    fastest seen in the whole benchmark, so that a figure taken on a slow disk is seen for what it is.
    """
    folder = Path(tempfile.mkdtemp(dir=cwd))
    times = []
    for i in range(n):
        start = time.perf_counter()
        os.close(os.open(folder / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def compile_bytecode() -> None:
    """Compile every module the runs import (this machine sets PYTHONDONTWRITEBYTECODE)."""
    import sysconfig

    paths = [sysconfig.get_paths()["purelib"], str(REPO / "core" / "src"), *map(str, REPO.glob("backends/*/src"))]
    subprocess.run([PY, "-m", "compileall", "-q", "-j", "0", *paths], check=False, stdout=subprocess.DEVNULL)


def write_params(path: Path, key: str, value: object) -> Path:
    path.write_text(json.dumps({key: value}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--only", default="", help="comma-separated figures to run: noop,functions,containers,startup")
    args = parser.parse_args()
    smoke = args.smoke
    repeats = args.repeats or (1 if smoke else 5)

    compile_bytecode()
    work = Path(tempfile.mkdtemp(prefix="flowyard-bench-"))
    try:
        measure(args, work, smoke, repeats)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path, smoke: bool, repeats: int) -> None:
    n_noop, n_functions, n_containers = (200, 50, 10) if smoke else (10_000, 1_000, 200)
    n_functions_big = 100 if smoke else 10_000  # 20,000 tasks: start-up amortised (issue 17)
    flowyard = [PY, "-m", "flowyard._cli"]
    bench = HERE / "local"
    n_messages = max(n_functions_big, n_containers)
    messages = [{"id": str(i), "event": {"msg": f"activator run {i}", "n": i}} for i in range(n_messages)]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.platform()}; mode: {'smoke' if smoke else 'full'}, {repeats} repeat(s)"
    )

    only = set(filter(None, args.only.split(","))) or {"noop", "functions", "containers", "startup"}
    figures = []
    rss_over: float | None = None
    # (figure key, label, pipeline, parameter name, its value, extra flowyard args, baseline args, target)
    paired = [
        ("noop", f"{n_noop:,} no-op Python items, parallelism 2", bench / "noop.yaml", "xs",
         list(range(n_noop)), [], ["noop", str(n_noop)], 2.0),
        ("functions", f"variant 2, {n_functions:,} messages, Python functions", bench / "fanout_functions.yaml",
         "messages", messages[:n_functions], [], ["functions", str(n_functions)], 2.0),
        ("functions", f"variant 2, {n_functions_big:,} messages, Python functions", bench / "fanout_functions.yaml",
         "messages", messages[:n_functions_big], [], ["functions", str(n_functions_big)], 2.0),
        ("containers", f"variant 2, {n_containers} messages, container steps", EXAMPLES / "fanout.yaml",
         "messages", messages[:n_containers], ["-O", "workers=2"],
         ["containers", str(n_containers), str(EXAMPLES / "bin")], 1.2),
    ]  # fmt: skip
    for key, label, pipeline, param, value, extra, base_args, limit in paired:
        if key not in only:
            continue
        p = write_params(work / f"{key}-{len(value)}.json", param, value)
        disk_before = create_cost_us(work)
        argvs = [
            [*flowyard, "run", str(pipeline), "--params-file", str(p), *extra, "--json"],
            [PY, str(bench / "baselines.py"), *base_args],
        ]
        if key == "functions":  # the same pool, having imported what flowyard cannot run without
            argvs.append([PY, str(bench / "baselines.py"), *base_args, "--import-dependencies"])
        ours, base, *floor = interleave(argvs, repeats, work)
        disk = (disk_before, create_cost_us(work))
        notes = []
        if floor:
            fs = [s.seconds for s in floor[0]]
            f, b = statistics.median(fs), statistics.median(s.seconds for s in base)
            notes.append(f"the bare pool, flowyard's dependencies imported: {f:.3f}s ({spread(fs)})  x{f / b:.2f}")
        figure = Figure(label, ours, base, f"<= {limit}x", limit, notes=tuple(notes), disk_us=disk, judged=not smoke)
        figures.append(figure)
        if key == "noop":
            baseline_rss = run_process([PY, "-c", "pass"], work).max_rss_kb
            peak = statistics.median(s.max_rss_kb for s in ours)
            rss_over = (peak - baseline_rss) / 1024

    if "startup" in only:
        (ours,) = interleave([[*flowyard, "--help"]], max(repeats, 3), work)
        figures.append(Figure("flowyard --help", ours, None, "< 0.250s", 0.25))
        (ours,) = interleave([[*flowyard, "run", str(EXAMPLES / "sequential.yaml"), "--json"]], max(repeats, 3), work)
        figures.append(Figure("variant 1 end to end", ours, None, "< 0.500s", 0.5))

    fastest = min([create_cost_us(work), *(us for f in figures if f.disk_us for us in f.disk_us)])
    print()
    for f in figures:
        print(f.line())
        if f.disk_us:
            slow = max(f.disk_us) > 1.5 * fastest
            print(
                f"{'':<46}creating a file: {f.disk_us[0]:.0f} us before, {f.disk_us[1]:.0f} us after"
                + (" (slow disk: files were deleted nearby minutes before; see docs/performance.md)" if slow else "")
            )
    if rss_over is not None:
        ok = rss_over <= 150
        print(
            f"{'peak RSS, ' + format(n_noop, ',') + ' items, over interpreter':<44} {rss_over:7.1f} MB"
            f"{'':>53} target <= 150 MB     {verdict(ok, not smoke)}"
        )


if __name__ == "__main__":
    main()
