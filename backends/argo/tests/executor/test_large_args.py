"""A container argument over 131,072 bytes: v4.1 offloads ``args`` to a file and hands the program ``@FILE``.

From v4.0.10 and v4.1, ``workflowpod.go`` moves a main container's ``args`` to a ConfigMap when their JSON is over
``MaxEnvVarLen`` (131,072 bytes), and emissary (``cmd/argoexec/commands/emissary.go``) reads them back and replaces
each argument over that size (the command's own after its first, then the args) by ``@/tmp/argo_arg_<i>.txt``, the
file holding it: the program never sees the value, only the file's name. Before (3.6, 3.7), the argument reaches
``execve`` whole and Linux refuses it (``MAX_ARG_STRLEN``: E2BIG), so the pod never starts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import by_display, needs_namespaces, run_manifest

pytestmark = needs_namespaces

BIG = 200_000
MANIFEST = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: big-args}}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: busybox
      command: [sh, -c, 'echo "${{1%%xxxxxxxx*}}"; if [ "${{1#@}}" != "$1" ]; then wc -c < "${{1#@}}"; fi', sh]
      args: ["{"x" * BIG}"]
"""


def test_on_4_1_an_argument_over_the_limit_reaches_the_program_as_a_file(tmp_path: Path) -> None:
    run = run_manifest(MANIFEST, tmp_path)
    node = by_display(run)["big-args"]
    assert node.phase == "Succeeded", node.message  # type: ignore[attr-defined]
    printed = (tmp_path / "pods" / node.pod / "stdout.log").read_text().split()  # type: ignore[attr-defined]
    assert printed == ["@/tmp/argo_arg_3.txt", str(BIG)]


@pytest.mark.parametrize("version", ["3.6.19", "3.7.9"])
def test_before_4_1_an_argument_over_the_limit_keeps_the_pod_from_starting(tmp_path: Path, version: str) -> None:
    run = run_manifest(MANIFEST, tmp_path, version)
    node = by_display(run)["big-args"]
    assert node.phase in ("Failed", "Error"), node.message  # type: ignore[attr-defined]
    log = (tmp_path / "pods" / node.pod / "stderr.log").read_text()  # type: ignore[attr-defined]
    assert "Argument list too long" in log
