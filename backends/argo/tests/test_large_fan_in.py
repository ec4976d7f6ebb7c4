"""A large fan-in reaches its Python consumer on Argo (issue 15, divergence 9).

Linux refuses to start a process with one argv string over 131,072 bytes (``MAX_ARG_STRLEN``: ``E2BIG``); the
aggregate of ~5,000 fanned-out values is larger. The compiled ``total`` step of the fan-in-values pipeline is started
here for real, as the controller would start it: its input parameters substituted into the container's argv and into
any ``raw`` input artifact, which argoexec's init container writes to its path (``workflow/executor/executor.go``
``LoadArtifacts``; the template itself goes to a ConfigMap when over ``MaxEnvVarLen``, ``workflowpod.go``).
``/flowyard`` is mapped under a temporary folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from flowyard.step import encode_envelope
from flowyard.testing.contract import canonical_ir

from .conftest import manifest, template

COUNT = 5000


def substituted(text: str, params: dict[str, str], root: Path) -> str:
    for name, value in params.items():
        text = text.replace(f"{{{{inputs.parameters.{name}}}}}", value)
    return text.replace("/flowyard/", f"{root}/flowyard/")


def start_as_argo_would(tpl: dict[str, Any], params: dict[str, str], root: Path) -> subprocess.CompletedProcess[str]:
    for art in (tpl.get("inputs") or {}).get("artifacts") or []:
        if "raw" in art:
            path = Path(substituted(art["path"], params, root))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(substituted(art["raw"]["data"], params, root), encoding="utf-8")
    container = tpl["container"]
    argv = [substituted(a, params, root) for a in [*container["command"], *container.get("args", [])]]
    argv[0] = sys.executable  # the image's python3: flowyard-core is installed here
    (root / "flowyard" / "work").mkdir(parents=True, exist_ok=True)
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def test_a_fan_in_of_5000_values_reaches_its_python_consumer(tmp_path: Path) -> None:
    doc = manifest(canonical_ir("fan-in-values"))
    total = template(doc, "total")
    values = [i + 0.5 for i in range(COUNT)]
    aggregate = json.dumps([encode_envelope(i, v) for i, v in reversed(list(enumerate(values)))])
    assert len(aggregate.encode()) > 131072
    done = start_as_argo_would(total, {"xs": aggregate, "flowyard-count-xs": str(COUNT)}, tmp_path)
    assert done.returncode == 0, done.stderr[-500:]
    assert json.loads((tmp_path / "flowyard" / "values" / "out").read_text()) == sum(values)
