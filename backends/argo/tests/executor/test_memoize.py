"""``memoize``: a template's outputs kept in a local cache named as its ConfigMap, shared by the runs of one runs
folder; a hit marked as the controller marks it (``memoizationStatus``), nothing run again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import needs_namespaces
from .test_argo_examples_findings import run_in_fresh_folder, workflow_status

pytestmark = needs_namespaces

MEMOIZED = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: memo-}}
spec:
  entrypoint: main
  templates:
  - name: main
    memoize:
      key: "{key}"
      maxAge: "{age}"
      cache: {{configMap: {{name: my-cache}}}}
    container:
      image: python:3.12
      command: [python, -c, "import time; open('/tmp/stamp', 'w').write(str(time.time()))"]
    outputs:
      parameters:
      - {{name: stamp, valueFrom: {{path: /tmp/stamp}}}}
"""


def _node(name: str) -> dict[str, object]:
    nodes = workflow_status(name)["nodes"]
    return next(n for n in nodes.values() if n["name"] == name)


def test_a_second_run_takes_the_outputs_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = MEMOIZED.format(key="stamp-1", age="1h")
    first = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml", "--name", "first")
    second = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml", "--name", "second")
    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    missed, hit = _node("first"), _node("second")
    assert missed["memoizationStatus"] == {"hit": False, "key": "stamp-1", "cacheName": "my-cache"}
    assert hit["memoizationStatus"] == {"hit": True, "key": "stamp-1", "cacheName": "my-cache"}
    assert hit["phase"] == "Succeeded"
    assert hit["outputs"] == missed["outputs"]  # the first pod's clock, not a second pod's
    assert not (tmp_path / ".flowyard/runs/second/pods").exists()


def test_an_entry_older_than_max_age_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = MEMOIZED.format(key="stamp-2", age="1s")
    first = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml", "--name", "first")
    time.sleep(2.1)  # the cache keeps whole seconds, as the ConfigMap's RFC 3339 stamps do
    second = run_in_fresh_folder(tmp_path, monkeypatch, manifest, "wf.yaml", "--name", "second")
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert _node("second")["memoizationStatus"] == {"hit": False, "key": "stamp-2", "cacheName": "my-cache"}
    assert _node("second")["outputs"] != _node("first")["outputs"]


@pytest.mark.parametrize(
    ("key", "age", "message"),
    [("not a key!", "1h", "invalid cache key: not a key!"), ("k", "10", "invalid maxAge: time: missing unit")],
)
def test_what_the_cache_refuses_errors_the_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, age: str, message: str
) -> None:
    result = run_in_fresh_folder(tmp_path, monkeypatch, MEMOIZED.format(key=key, age=age), "wf.yaml", "--name", "bad")
    assert result.exit_code == 1
    assert _node("bad")["phase"] == "Error"
    assert str(_node("bad")["message"]).startswith(message)


def test_a_cache_that_is_not_json_errors_the_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / ".flowyard/runs/.argo-memoize/default/my-cache.json"
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    result = run_in_fresh_folder(tmp_path, monkeypatch, MEMOIZED.format(key="k", age="1h"), "wf.yaml", "--name", "bad")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert str(_node("bad")["message"]).startswith("memoization cache ")
