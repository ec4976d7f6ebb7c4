"""Calibrate the Argo executor on Argo's own examples (v4.1.2, ``../shared/corpora/argo-examples``, read in place).

Every file runs through ``flowyard run FILE --name NAME`` from a fresh folder (no ``FLOWYARD_HOME``), each with a
timeout, and gets one line with a category from a closed list (``CATEGORIES``). Upstream's oracle decides what is
expected, read as ``test/e2e/examples_test.go`` ``TestExampleWorkflows`` reads it at v4.1.2: a Workflow without the
``workflows.argoproj.io/no-test`` label must end Succeeded (unless it uses a feature refused by name); one labelled
``expected-failure`` must end Failed; every other file has an entry in ``argo_examples_expected.json`` (category,
node names and phases, reason) that the run is checked against.

    python benchmarks/calibrate_argo_examples.py            # every file (a few minutes)
    python benchmarks/calibrate_argo_examples.py --smoke    # a fixed subset (CI)
    python benchmarks/calibrate_argo_examples.py --write-expected   # refresh the table's entries from this run

Exit 0 when every file ends in its expected category, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpora" / "argo-examples"
EXPECTED = Path(__file__).resolve().parent / "argo_examples_expected.json"
NO_TEST = "workflows.argoproj.io/no-test"
RUNNABLE_KINDS = ("Workflow", "WorkflowTemplate", "CronWorkflow", "ClusterWorkflowTemplate")
CATEGORIES = (
    "succeeded",  # ended Succeeded, as expected
    "failed as designed",  # ended Failed/Error, as expected
    "refused",  # a feature the executor refuses by name (the documented refusal table), before anything ran
    "needs a program",  # an image this machine has no stand-in for, or a program the stand-in lacks
    "timed out",  # still running at --timeout (suspend without duration, long sleeps), killed
    "not a workflow",  # the file holds no document the executor runs (ConfigMap, PVC, event binding...)
    "failed",  # anything else: the wrong end, a mismatch with the table, a traceback
)
DESIGNED_END = ("succeeded", "failed as designed")
IMAGE_PROBLEM = re.compile(
    r"image '[^']*'(: the host has no| has no entry in the image map| has no program)|the container has no command"
)
IMAGES = Path(__file__).resolve().parent / "argo_examples_images.yaml"  # argosay's stand-in
# ConfigMaps the examples read: upstream's own (examples/configmaps/) and the semaphore limits some examples
# only describe in a comment
CONFIGMAPS = (CORPUS / "configmaps", Path(__file__).resolve().parent / "argo_examples_configmaps")
# The smoke subset: quick examples covering steps, DAGs, loops, scripts, outputs, retries, an expected failure,
# a refusal and a missing program.
SMOKE = (
    "hello-world.yaml",
    "steps.yaml",
    "dag-diamond.yaml",
    "loops-maps.yaml",
    "scripts-python.yaml",
    "output-parameter.yaml",
    "exit-handlers.yaml",
    "daemon-nginx.yaml",
    "scripts-javascript.yaml",
    "dag-enhanced-depends.yaml",
)


@dataclass
class Outcome:
    """One file's run: its category, what decides it, and the node tree (name -> phase)."""

    file: str
    category: str
    detail: str = ""
    phase: str = ""
    nodes: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def label_of(docs: list[dict[str, Any]]) -> str | None:
    """The no-test label of the file's first runnable document (``wf.GetLabels()[...]``), None when absent."""
    for doc in docs:
        if doc.get("kind") in RUNNABLE_KINDS:
            labels = (doc.get("metadata") or {}).get("labels") or {}
            return str(labels[NO_TEST]) if NO_TEST in labels else None
    return None


def run_name(relative: str) -> str:
    """A deterministic run name (a DNS label) for the file."""
    stem = re.sub(r"[^a-z0-9]+", "-", relative.removesuffix(".yaml").lower()).strip("-")
    return f"cal-{stem}"[:50].rstrip("-")


def _refusal(stderr: str, path: Path) -> tuple[str, str]:
    """(category, detail) of a run refused before it started (exit 2)."""
    lines = [line for line in stderr.splitlines() if line.startswith("error:")] or stderr.strip().splitlines()[-1:]
    detail = lines[0].removeprefix("error:").strip() if lines else "refused without a message"
    detail = detail.removeprefix(f"{path}:").strip()
    if IMAGE_PROBLEM.search(detail):
        return "needs a program", detail
    return "refused", detail


def _tree(folder: Path, name: str) -> tuple[str, dict[str, str], str]:
    """The workflow's phase, its nodes (name -> phase) and the first image problem a pod met, from the run
    folder's ``workflow.json`` (an image named by a parameter is only known when its pod starts)."""
    status_file = folder / ".flowyard" / "runs" / name / "workflow.json"
    if not status_file.is_file():
        return "", {}, ""
    status = json.loads(status_file.read_text(encoding="utf-8")).get("status") or {}
    nodes = {str(n["name"]): str(n.get("phase", "")) for n in (status.get("nodes") or {}).values()}
    messages = [str(n.get("message", "")) for n in (status.get("nodes") or {}).values()]
    image = next((m for m in messages if IMAGE_PROBLEM.search(m)), "")
    return str(status.get("phase", "")), dict(sorted(nodes.items())), image


def run_one(path: Path, relative: str, timeout: float, images: Path | None = IMAGES) -> Outcome:
    """Run one file through the CLI from a fresh folder; the raw outcome (category before the oracle's check)."""
    name = run_name(relative)
    folder = Path(tempfile.mkdtemp(prefix="flowyard-cal-"))
    env = {k: v for k, v in os.environ.items() if k != "FLOWYARD_HOME"}
    command = [sys.executable, "-m", "flowyard._cli", "run", str(path), "--name", name]
    if images is not None:
        command += ["-O", f"image_map={images}"]
    command += ["-O", "configmaps=" + os.pathsep.join(str(p) for p in CONFIGMAPS)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its pods: they share the session started for it
        proc.communicate()
        phase, nodes, _image = _tree(folder, name)
        shutil.rmtree(folder, ignore_errors=True)
        return Outcome(relative, "timed out", f"still running after {timeout:.0f} s", phase, nodes, timeout)
    seconds = time.perf_counter() - start
    phase, nodes, image = _tree(folder, name)
    shutil.rmtree(folder, ignore_errors=True)
    if "Traceback (most recent call last)" in stderr + stdout:
        last = (stderr or stdout).strip().splitlines()[-1]
        return Outcome(relative, "failed", f"traceback: {last}", phase, nodes, seconds)
    if proc.returncode == 2:
        category, detail = _refusal(stderr, path)
        return Outcome(relative, category, detail, phase, nodes, seconds)
    if image and phase in ("Failed", "Error"):
        return Outcome(relative, "needs a program", f"a pod's {image}", phase, nodes, seconds)
    if proc.returncode == 0 and phase == "Succeeded":
        return Outcome(relative, "succeeded", "", phase, nodes, seconds)
    if proc.returncode == 1 and phase in ("Failed", "Error"):
        return Outcome(relative, "failed as designed", _message(stdout), phase, nodes, seconds)
    return Outcome(relative, "failed", f"exit {proc.returncode}, phase {phase or 'none'}", phase, nodes, seconds)


def _message(stdout: str) -> str:
    """The run's last line (phase, folder, message) without the folder."""
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    return re.sub(r"\s+/\S+", "", last).strip()


def judge(outcome: Outcome, label: str | None, kinds: list[str], expected: dict[str, Any] | None) -> Outcome:
    """The outcome checked against upstream's oracle: the label, else the expectations table."""
    tested = label is None and kinds == ["Workflow"]  # the Workflows TestExampleWorkflows submits
    # An expected-failure example must end Failed unless the table says why not, citing upstream's own test
    # of it (continue-on-fail.yaml: test/e2e/functional_test.go TestContinueOnFail expects Succeeded).
    if tested or (label == "expected-failure" and expected is None):
        if outcome.category in ("refused", "needs a program"):
            return outcome  # a feature refused by name, before anything ran
        if tested and outcome.category == "succeeded":
            return outcome
        if label == "expected-failure" and outcome.category == "failed as designed":
            return outcome
        return _mismatch(outcome, "upstream's test expects " + ("Succeeded" if tested else "Failed"))
    if expected is None:
        return _mismatch(outcome, "no entry in the expectations table")
    allowed = expected["category"] if isinstance(expected["category"], list) else [expected["category"]]
    if outcome.category not in allowed:
        return _mismatch(outcome, f"the table expects {' or '.join(allowed)}")
    if "nodes" in expected and expected["nodes"] != outcome.nodes:
        differ = sorted(set(expected["nodes"].items()) ^ set(outcome.nodes.items()))
        return _mismatch(outcome, f"nodes differ from the table: {differ[:3]}")
    return outcome


def _mismatch(outcome: Outcome, why: str) -> Outcome:
    detail = f"{why}; got {outcome.category}" + (f" ({outcome.detail})" if outcome.detail else "")
    return Outcome(outcome.file, "failed", detail, outcome.phase, outcome.nodes, outcome.seconds)


def load(path: Path) -> list[dict[str, Any]]:
    """The file's YAML documents (mappings only)."""
    with path.open(encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]


def calibrate(
    path: Path, relative: str, timeout: float, table: dict[str, Any], images: Path | None = IMAGES
) -> tuple[Outcome, Outcome]:
    """(raw outcome, judged outcome) of one file."""
    docs = load(path)
    kinds = [str(d.get("kind")) for d in docs]
    if not any(k in RUNNABLE_KINDS for k in kinds):
        raw = Outcome(relative, "not a workflow", f"kinds: {', '.join(kinds)}")
    else:  # a file of several documents runs its one Workflow (ConfigMaps beside it read), else is refused
        raw = run_one(path, relative, timeout, images)
    return raw, judge(raw, label_of(docs), kinds, table.get(relative))


def judge_file(raw: Outcome, table: dict[str, Any]) -> Outcome:
    """A raw outcome judged against ``table``."""
    docs = load(CORPUS / raw.file)
    return judge(raw, label_of(docs), [str(d.get("kind")) for d in docs], table.get(raw.file))


def table_entry(raw: Outcome, docs: list[dict[str, Any]], old: dict[str, Any] | None) -> dict[str, Any]:
    """The expectations-table entry this run gives (the reason kept when one was written by hand)."""
    label = label_of(docs)
    entry: dict[str, Any] = {"category": raw.category}
    before = (old or {}).get("category")
    if (isinstance(before, list) or label == "flaky") and raw.category in DESIGNED_END:  # a random outcome
        entry["category"] = sorted({*(before if isinstance(before, list) else DESIGNED_END), raw.category})
    elif raw.category in DESIGNED_END:
        entry["phase"] = raw.phase
        entry["nodes"] = raw.nodes
    entry["reason"] = (old or {}).get("reason") or (f"no-test: {label}; " if label else "") + (raw.detail or raw.phase)
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run the fixed smoke subset only")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per file before it is killed")
    parser.add_argument("--image-map", type=Path, default=IMAGES, help="the image map (default: argosay's stand-in)")
    parser.add_argument("--jobs", type=int, default=2, help="files run side by side")
    parser.add_argument("--write-expected", action="store_true", help="write the table's entries from this run")
    parser.add_argument("files", nargs="*", help="files under the corpus to run (default: every one)")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"SKIPPED: the corpus {CORPUS} is absent")
        return 0
    table: dict[str, Any] = json.loads(EXPECTED.read_text(encoding="utf-8")) if EXPECTED.is_file() else {}
    every = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.yaml"))
    chosen = list(SMOKE) if args.smoke else (args.files or every)
    start = time.perf_counter()
    results = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for raw, outcome in pool.map(
            lambda rel: calibrate(CORPUS / rel, rel, args.timeout, table, args.image_map), chosen
        ):
            if not args.write_expected:
                _print(outcome)
            results.append((raw, outcome))
    wall = time.perf_counter() - start
    if args.write_expected:  # judged again against the table just written
        _write_expected(results, table)
        results = [(raw, judge_file(raw, table)) for raw, _old in results]
        for _raw, outcome in results:
            _print(outcome)
    return _totals(results, wall, len(chosen))


def _print(outcome: Outcome) -> None:
    extra = f": {outcome.detail}" if outcome.detail else ""
    print(f"{outcome.file}  {outcome.category}{extra}  [{outcome.seconds:.1f} s]", flush=True)


def _write_expected(results: list[tuple[Outcome, Outcome]], table: dict[str, Any]) -> None:
    """Entries for the files upstream's test does not run (no-test label or not a Workflow), from this run."""
    for raw, _judged in results:
        docs = load(CORPUS / raw.file)
        kinds = [str(d.get("kind")) for d in docs]
        label = label_of(docs)
        if (label is not None and (label != "expected-failure" or raw.file in table)) or kinds != ["Workflow"]:
            table[raw.file] = table_entry(raw, docs, table.get(raw.file))
    EXPECTED.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {EXPECTED}")


def feature(refusal: str) -> str:
    """The refused feature's name in a refusal line, without the template's path or the field's own names."""
    text = re.sub(r"^spec\.templates\[\d+\] \([^)]*\)", "", refusal)
    text = text.split(": ", 1)[1] if ": " in text else text.lstrip(".")
    text = re.sub(r"^(env|argument artifact) \S+", r"\1", text)
    text = re.sub(r" cannot run here( yet)?$", "", text)
    return re.sub(r" \(.*\)$", "", text).strip()


def _totals(results: list[tuple[Outcome, Outcome]], wall: float, files: int) -> int:
    counts = Counter(judged.category for _raw, judged in results)
    refused = Counter(feature(judged.detail) for _raw, judged in results if judged.category == "refused")
    print("\ntotals:")
    for category in CATEGORIES:
        print(f"  {category:20} {counts.get(category, 0)}")
    designed = sum(counts.get(c, 0) for c in DESIGNED_END)
    print(f"run to their designed end: {designed} of {files} files, wall {wall:.0f} s")
    if refused:
        print("refused most: " + ", ".join(f"{what} ({n})" for what, n in refused.most_common(8)))
    return 1 if counts.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
