"""Hostile and unlucky spec files: every one is a valid spec or a one-paragraph error naming its file,
exit 2, in bounded time and memory (issue 20's reproductions)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowyard._cli import cli
from flowyard.testing.cli import user_cli

HEADER = "apiVersion: flowyard/v1\nkind: Pipeline\nname: p\n"
STEP = "steps:\n  a:\n    container:\n      image: alpine\n      command: [echo, hi]\n"


def flowyard(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: a fresh folder, no FLOWYARD_HOME."""
    return user_cli(*args, cwd=cwd, env=env, timeout=60)


def assert_refused(r: subprocess.CompletedProcess[str], *words: str) -> None:
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("error: "), r.stderr[:500]
    assert len(r.stderr) < 2000
    for word in words:
        assert word in r.stderr, r.stderr


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_deep_nesting_is_refused_with_its_line(tmp_path: Path) -> None:
    deep = "[" * 600 + "]" * 600
    write(tmp_path, HEADER + f"parameters:\n  x:\n    type: list\n    default: {deep}\n" + STEP)
    assert_refused(
        flowyard("validate", "p.yaml", cwd=tmp_path), "p.yaml:7", "parameters.x.default.0.0", "nested more than 64"
    )


def test_complex_yaml_key_is_refused(tmp_path: Path) -> None:
    write(tmp_path, HEADER + "parameters:\n  ? [a, b]\n  : {type: string}\n" + STEP)
    assert_refused(flowyard("validate", "p.yaml", cwd=tmp_path), "p.yaml:5", "parameters", "key")


def test_an_integer_of_5000_digits_is_refused(tmp_path: Path) -> None:
    write(tmp_path, HEADER + f"parameters:\n  x:\n    type: integer\n    default: {'9' * 5000}\n" + STEP)
    assert_refused(flowyard("validate", "p.yaml", cwd=tmp_path), "p.yaml:7", "parameters.x.default", "digits")


@pytest.mark.parametrize("value", [".inf", "'1e999'", ".nan", "-.inf", "1e300", "'99999999999d'"])
def test_non_finite_timeouts_are_refused(tmp_path: Path, value: str) -> None:
    write(tmp_path, HEADER + STEP + f"    timeout: {value}\n")
    assert_refused(flowyard("validate", "p.yaml", cwd=tmp_path), "steps.a.timeout")


def test_non_finite_parameter_default_is_refused(tmp_path: Path) -> None:
    write(tmp_path, HEADER + "parameters:\n  x:\n    type: number\n    default: .nan\n" + STEP)
    assert_refused(flowyard("validate", "p.yaml", cwd=tmp_path), "parameters.x.default", "finite")


def test_a_config_file_with_a_list_for_a_backend_is_one_line(tmp_path: Path) -> None:
    write(tmp_path, HEADER + STEP)
    config = write(tmp_path, "argo: [1, 2]\n", "config.yaml")
    r = flowyard("status", "some-run", "--backend", "argo", cwd=tmp_path, env={"FLOWYARD_CONFIG": str(config)})
    assert_refused(r, "config.yaml", "argo")


def test_uses_outside_the_spec_folder_is_refused_before_opening(tmp_path: Path) -> None:
    outside = write(tmp_path, "apiVersion: flowyard/v1\nkind: Step\ncontainer: {command: [secret]}\n", "step.yaml")
    spec = write(
        tmp_path,
        HEADER + "steps:\n  a:\n    uses: ../../../../../../../../../../etc/passwd\n",
        "specs/p.yaml",
    )
    assert_refused(flowyard("validate", str(spec), cwd=tmp_path), "steps.a.uses", "outside")
    write(tmp_path, HEADER + "steps:\n  a:\n    uses: ../step.yaml\n", "specs/q.yaml")
    assert_refused(flowyard("validate", "specs/q.yaml", cwd=tmp_path), "steps.a.uses", "outside")
    assert outside.is_file()


def test_uses_inside_the_spec_folder_still_works(tmp_path: Path) -> None:
    write(tmp_path, "apiVersion: flowyard/v1\nkind: Step\ncontainer: {image: alpine, command: [x]}\n", "steps/s.yaml")
    write(tmp_path, HEADER + "steps:\n  a:\n    uses: steps/s.yaml\n")
    r = flowyard("validate", "p.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_uses_may_read_a_folder_listed_in_flowyard_uses_path(tmp_path: Path) -> None:
    write(tmp_path, "apiVersion: flowyard/v1\nkind: Step\ncontainer: {image: alpine, command: [x]}\n", "lib/s.yaml")
    write(tmp_path, HEADER + "steps:\n  a:\n    uses: ../lib/s.yaml\n", "specs/p.yaml")
    assert_refused(flowyard("validate", "specs/p.yaml", cwd=tmp_path), "steps.a.uses", "FLOWYARD_USES_PATH")
    r = flowyard("validate", "specs/p.yaml", cwd=tmp_path, env={"FLOWYARD_USES_PATH": str(tmp_path / "lib")})
    assert r.returncode == 0, r.stderr


def _alias_bomb(levels: int, width: int = 10) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines)


def test_an_alias_bomb_with_a_mismatched_default_is_refused_quickly(tmp_path: Path) -> None:
    bomb = textwrap.indent(_alias_bomb(7), "      ")  # 10**7 strings once expanded
    write(
        tmp_path,
        HEADER + f"parameters:\n  x:\n    type: string\n    default:\n{bomb}\n" + STEP,
    )
    r = CliRunner().invoke(cli, ["validate", str(tmp_path / "p.yaml")])
    assert r.exit_code == 2, r.output
    assert "aliases expand" in r.output
    assert len(r.output) < 2000


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    write(tmp_path, HEADER + "parameters:\n  x:\n    type: list\n    default: &r [1, *r]\n" + STEP)
    assert_refused(
        flowyard("validate", "p.yaml", cwd=tmp_path), "p.yaml:7", "parameters.x.default.1", "alias to itself"
    )


def test_a_huge_document_is_refused_by_its_size(tmp_path: Path) -> None:
    write(tmp_path, HEADER + STEP + "description: '" + "x" * (9 * 2**20) + "'\n")
    assert_refused(flowyard("validate", "p.yaml", cwd=tmp_path), "p.yaml", "bytes")


def test_yaml_only_types_are_refused_as_values(tmp_path: Path) -> None:
    write(tmp_path, HEADER + "parameters:\n  x:\n    type: any\n    default: !!binary aGVsbG8=\n" + STEP)
    assert_refused(flowyard("validate", "p.yaml", cwd=tmp_path), "p.yaml:7", "parameters.x.default", "!!binary")


def test_an_error_message_never_renders_a_huge_value(tmp_path: Path) -> None:
    big = "[" + ", ".join(str(i) for i in range(200_000)) + "]"
    write(tmp_path, HEADER + f"parameters:\n  x:\n    type: string\n    default: {big}\n" + STEP)
    r = CliRunner().invoke(cli, ["validate", str(tmp_path / "p.yaml")])
    assert r.exit_code == 2
    assert len(r.output) < 1000


@pytest.mark.parametrize("command", [("compile", "--backend", "argo"), ("run",)])
def test_an_infinite_timeout_never_reaches_a_backend(tmp_path: Path, command: tuple[str, ...]) -> None:
    write(tmp_path, HEADER + STEP + "    timeout: .inf\n")
    r = flowyard(command[0], "p.yaml", *command[1:], cwd=tmp_path)
    assert "Traceback" not in r.stderr and "OverflowError" not in r.stderr
    assert r.returncode == 2, r.stderr[-500:]


def test_a_value_nested_deeper_than_engines_carry_is_refused_by_name(tmp_path: Path) -> None:
    deep = "[" * 54 + "1" + "]" * 54  # KFP's compiler crashed on it (protobuf's nesting limit)
    write(tmp_path, HEADER + f"parameters:\n  x:\n    type: list\n    default: {deep}\n" + STEP)
    assert_refused(flowyard("validate", "p.yaml", cwd=tmp_path), "parameters.x.default", "nested more than 32")


def test_uses_through_a_symlink_or_a_nested_step_stays_inside(tmp_path: Path) -> None:
    write(tmp_path, "apiVersion: flowyard/v1\nkind: Step\ncontainer: {image: a, command: [x]}\n", "outside.yaml")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    write(tmp_path, HEADER + "steps:\n  a:\n    uses: link.yaml\n", "specs/p.yaml")
    assert_refused(flowyard("validate", "specs/p.yaml", cwd=tmp_path), "steps.a.uses", "outside")
    write(tmp_path, "apiVersion: flowyard/v1\nkind: Step\nuses: ../outside.yaml\n", "specs/inner.yaml")
    write(tmp_path, HEADER + "steps:\n  a:\n    uses: inner.yaml\n", "specs/q.yaml")
    assert_refused(flowyard("validate", "specs/q.yaml", cwd=tmp_path), "inner.yaml", "uses", "outside")


ANY_PARAM = HEADER + "parameters:\n  x: {type: any}\n" + STEP


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "[1, Infinity]"])
def test_a_non_finite_parameter_value_is_refused(tmp_path: Path, value: str) -> None:
    write(tmp_path, ANY_PARAM)
    r = flowyard("run", "p.yaml", "-p", f"x={value}", cwd=tmp_path)
    assert_refused(r, "parameter 'x'", "finite")


def test_a_deeply_nested_parameter_value_is_refused(tmp_path: Path) -> None:
    write(tmp_path, ANY_PARAM)
    r = flowyard("run", "p.yaml", "-p", "x=" + "[" * 5000 + "]" * 5000, cwd=tmp_path)
    assert_refused(r, "parameter 'x'", "nested")


def test_a_params_file_is_read_within_the_same_bounds(tmp_path: Path) -> None:
    write(tmp_path, ANY_PARAM)
    write(tmp_path, "x:\n" + textwrap.indent(_alias_bomb(7), "  ") + "\n", "params.yaml")
    r = flowyard("run", "p.yaml", "--params-file", "params.yaml", cwd=tmp_path)
    assert_refused(r, "params.yaml", "aliases expand")


def test_a_long_pipeline_name_still_compiles_for_argo(tmp_path: Path) -> None:
    write(tmp_path, HEADER.replace("name: p", "name: " + "long-name-" * 7) + STEP)
    r = flowyard("compile", "p.yaml", "--backend", "argo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-1500:]
    assert "generateName: long-name-long-name-long-name-long-name-long-name-long-na-" in r.stdout
