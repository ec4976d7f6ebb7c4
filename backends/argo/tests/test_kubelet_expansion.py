"""A ``$`` in a container step's command or environment reaches it as written, as locally (issue 15, item 11).

The kubelet expands ``$(NAME)`` in a container's ``command``, ``args`` and ``env`` values over the container's declared
variables and turns ``$$`` into ``$`` (``third_party/forked/golang/expansion/expand.go``, ``pkg/kubelet/container/
helpers.go`` ``ExpandContainerCommandAndArgs``): a parameter holding ``$(AWS_SECRET_ACCESS_KEY)`` would put the secret
into a command line. Locally nothing expands it. Executed through the executor, which expands as the kubelet does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flowyard.testing.cli import user_cli
from flowyard.testing.contract import CANONICAL_PIPELINES, canonical_ir
from flowyard_argo.executor.versions import ARGO_VERSIONS

from .conftest import manifest, needs_pods

DOLLARS = """\
apiVersion: flowyard/v1
kind: Pipeline
name: dollars
parameters:
  s: {type: string, default: "p$$q $(X) $(HOME)"}
defaults:
  image: python:3.12-alpine
steps:
  show:
    env:
      X: one
      Y: "<$(X)> $$"
    container:
      command:
        - python
        - -c
        - "import json, os, sys; open('o.json', 'w').write(json.dumps([sys.argv[1:], os.environ['Y']]))"
        - "a$$b $(X)"
        - "${{ params.s }}"
    outputs:
      o: {type: list, path: o.json}
outputs:
  o: ${{ steps.show.outputs.o }}
"""


@needs_pods
@pytest.mark.parametrize("version", ARGO_VERSIONS)
def test_a_dollar_in_a_command_or_env_reaches_the_container_as_written(tmp_path: Path, version: str) -> None:
    (tmp_path / "p.yaml").write_text(DOLLARS, encoding="utf-8")
    local = json.loads(user_cli("run", "p.yaml", "--json", cwd=tmp_path).stdout)
    argo_run = ["run", "p.yaml", "--backend", "argo", "-O", f"argo_version={version}", "--json"]
    argo = json.loads(user_cli(*argo_run, cwd=tmp_path).stdout)
    assert local["outputs"] == {"o": [["a$$b $(X)", "p$$q $(X) $(HOME)"], "<$(X)> $$"]}
    assert argo["outputs"] == local["outputs"]


_TAG = re.compile(r"\{\{(=?)(.*?)\}\}", re.S)
# flowyard's own numbers and the run's status: never a user's value, never holding a "$"
_OWN = re.compile(r"inputs\.parameters\.flowyard-(index|count-[-\w]+|run-status)|item\.index|workflow\.status")


def container_strings(doc: dict) -> list[str]:
    """Every string of a container the kubelet expands: ``command``, ``args`` and ``env`` values."""
    spec = doc["spec"].get("workflowSpec", doc["spec"])
    inline = [
        t["inline"] for tpl in spec["templates"] for t in (tpl.get("dag") or {}).get("tasks", []) if "inline" in t
    ]
    found = []
    for template in [*spec["templates"], *inline]:
        box = template.get("container") or {}
        found += [*box.get("command", []), *box.get("args", [])]
        found += [e["value"] for e in box.get("env", []) if "value" in e]
    return found


@pytest.mark.parametrize("name", sorted(CANONICAL_PIPELINES))
def test_every_value_argo_substitutes_into_a_container_is_escaped_for_the_kubelet(name: str) -> None:
    """Every container the compiler writes (steps, the item helper, the checks, the on-exit step) gets its ``$``
    doubled in one pass over the manifest: a tag substituted at run time is ``sprig.replace``'d unless it is one of
    flowyard's own numbers, and a ``$`` in written text is doubled (``$`` alone never reaches the kubelet)."""
    for text in container_strings(manifest(canonical_ir(name))):
        for tag in _TAG.finditer(text):
            body = tag.group(2).strip()
            assert body.startswith("sprig.replace('$', '$$', ") or _OWN.fullmatch(body), (name, text)
        outside = _TAG.sub("", text)
        assert "$" not in outside.replace("$$", ""), (name, text)
