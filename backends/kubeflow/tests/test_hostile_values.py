"""Any Unicode value in a default survives the package (issue 16, item 7): kfp writes each default into
the package's header comment, and PyYAML, which kfp.Client reads packages with, takes U+2028, U+2029,
U+0085 and CR as line breaks and refuses control characters in comments."""

from __future__ import annotations

import json

from click.testing import CliRunner
from flowyard._cli import cli

HOSTILE = [
    "x\u2028defaultPipelineRoot: s3://evil-bucket/loot",
    "x\u2029defaultPipelineRoot: s3://evil-bucket/loot",
    "x\x85defaultPipelineRoot: s3://evil-bucket/loot",
    "x\rdefaultPipelineRoot: s3://evil-bucket/loot",
    "x\ndefaultPipelineRoot: s3://evil-bucket/loot",
    "x\ncomponents: {}",
    "bell\x07",
    "esc\x1b[31m",
    "del\x7f",
    "bom\ufeff",
    "c1\x9b",
    "astral \U00010348",
    "# not a comment",
    "'quoted' \"double\" \\back",
]


def test_every_hostile_default_survives_the_clients_own_reader(tmp_path, monkeypatch) -> None:
    from google.protobuf import json_format
    from kfp.client.client import _extract_pipeline_yaml  # what kfp.Client reads a package with

    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "u.json"
    broken = {}
    for i, value in enumerate(HOSTILE):
        pipeline = {
            "apiVersion": "flowyard/v1",
            "kind": "Pipeline",
            "name": "u",
            "defaults": {"image": "img:1"},
            "parameters": {"m": {"type": "string", "default": value}},
            "steps": {
                "e": {"python": {"function": "flowyard.testing.functions:emit"}, "inputs": {"value": "${{ params.m }}"}}
            },
        }
        spec.write_text(_json(pipeline), encoding="utf-8")
        out = tmp_path / f"p{i}.yaml"
        r = CliRunner().invoke(cli, ["compile", str(spec), "-b", "kubeflow", "-o", str(out)])
        if r.exit_code != 0:
            broken[value] = r.output[-200:]
            continue
        try:
            doc = json_format.MessageToDict(_extract_pipeline_yaml(str(out)).pipeline_spec)
        except Exception as e:  # noqa: BLE001 - the client cannot read it at all: that is what is counted
            broken[value] = f"{type(e).__name__}: {e}"[:200]
            continue
        default = doc["root"]["inputDefinitions"]["parameters"]["m"].get("defaultValue")
        if set(doc) != KEYS or default != value:
            broken[value] = f"read back as {sorted(doc)} / {default!r}"
    assert not broken


KEYS = {"components", "deploymentSpec", "pipelineInfo", "root", "schemaVersion", "sdkVersion"}


def _json(data: object) -> str:
    """JSON with every character as itself, except those a YAML reader refuses raw (controls, C1,
    line separators), which are escaped: an astral character escaped would be a surrogate pair."""
    text = json.dumps(data, ensure_ascii=False)
    return "".join(c if c.isprintable() or c == " " else f"\\u{ord(c):04x}" for c in text)


def test_a_header_whose_defaults_kfp_wrote_in_another_key_order_is_accepted(tmp_path, monkeypatch) -> None:
    """kfp writes the header from its own ``MessageToDict`` of the spec and flowyard computes it again from another;
    a default's object keys come out of a protobuf map, whose order two conversions need not share (it failed one
    CI run in several). The same header with its keys in another order is kfp's header all the same."""
    import ast

    from kfp.compiler import pipeline_spec_builder

    real = pipeline_spec_builder.extract_comments_from_pipeline_spec
    calls = []

    def reordered(value: object) -> object:
        if isinstance(value, dict):
            return {k: reordered(value[k]) for k in reversed(list(value))}
        return [reordered(v) for v in value] if isinstance(value, list) else value

    def second_call_reordered(spec: dict, description: str) -> str:
        calls.append(1)
        header = real(spec, description)
        if len(calls) == 1:
            return header  # what kfp writes
        prefix = "[Default: "
        return "\n".join(
            line[: line.index(prefix) + len(prefix)]
            + str(reordered(ast.literal_eval(line[line.index(prefix) + len(prefix) : -1])))
            + "]"
            if prefix in line
            else line
            for line in header.split("\n")
        )

    monkeypatch.setattr(pipeline_spec_builder, "extract_comments_from_pipeline_spec", second_call_reordered)
    monkeypatch.chdir(tmp_path)
    spec = {
        "apiVersion": "flowyard/v1",
        "kind": "Pipeline",
        "name": "u",
        "defaults": {"image": "img:1"},
        "parameters": {"m": {"type": "list", "default": [{"id": "1", "event": {"msg": "a", "at": 2}}]}},
        "steps": {
            "e": {"python": {"function": "flowyard.testing.functions:emit"}, "inputs": {"value": "${{ params.m }}"}}
        },
    }
    (tmp_path / "u.json").write_text(_json(spec), encoding="utf-8")
    r = CliRunner().invoke(cli, ["compile", "u.json", "-b", "kubeflow", "-o", "p.yaml"])
    assert len(calls) == 2 and r.exit_code == 0, r.output
    line = next(x for x in (tmp_path / "p.yaml").read_text().splitlines() if "[Default: " in x)
    written = ast.literal_eval(line[line.index("[Default: ") + len("[Default: ") : -1])  # kfp's own order, kept
    assert written == [{"id": "1", "event": {"msg": "a", "at": 2.0}}]
