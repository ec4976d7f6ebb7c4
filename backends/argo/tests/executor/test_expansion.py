"""The kubelet's ``$(VAR)`` expansion of a container's ``command``, ``args`` and ``env`` values (Kubernetes, not Argo:
``third_party/forked/golang/expansion/expand.go``, ``pkg/kubelet/container/helpers.go``
``ExpandContainerCommandAndArgs``, ``pkg/kubelet/kubelet_pods.go`` ``makeEnvironmentVariables``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowyard_argo.executor.expansion import expand

from .conftest import argv_of, by_display, needs_namespaces, run_manifest

ENV = {"X": "1", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("$(X)", "1"),
        ("$$(X)", "$(X)"),  # escaped: never expanded
        ("$$", "$"),
        ("a$b", "a$b"),
        ("$(UNDECLARED)", "$(UNDECLARED)"),
        ("$(EMPTY)|", "|"),
        ("$(X", "$(X"),
        ("$$$(X)", "$1"),
        ("end$", "end$"),
        ("é$(X)é$(X)", "é1é1"),
    ],
)
def test_expand_follows_the_kubelets_rules(text: str, expanded: str) -> None:
    assert expand(text, ENV.get) == expanded


MANIFEST = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: expand}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: python:3.12-alpine
      command: [python, -c, "import json, os, sys; print(json.dumps([sys.argv[1:], os.environ['Y']]))", "$(X)"]
      args: ["$$(X) $(Z) $$"]
      env:
      - {name: X, value: one}
      - {name: Y, value: "<$(X)>"}
"""


@needs_namespaces
@pytest.mark.parametrize("version", ["3.6.19", "3.7.9", "4.1.2"])
def test_a_pods_command_args_and_env_are_expanded_as_the_kubelet_does(tmp_path: Path, version: str) -> None:
    run = run_manifest(MANIFEST, tmp_path, version)
    node = by_display(run)["expand"]
    assert node.phase == "Succeeded", node.message  # type: ignore[attr-defined]
    assert argv_of(node, tmp_path) == [["one", "$(X) $(Z) $"], "<one>"]
