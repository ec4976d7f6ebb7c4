"""The code that runs in a step's image is one subpackage, and the names images invoke stay."""

from __future__ import annotations

import json
import subprocess
import sys

import flowyard.function_task
import flowyard.step
from flowyard.stepimage import function_task, step


def test_the_old_module_paths_are_the_step_image_code() -> None:
    assert flowyard.step.TaskSpec is step.TaskSpec and flowyard.step.main is step.main
    assert flowyard.function_task.run_function_task is function_task.run_function_task
    assert flowyard.function_task.FunctionTask is function_task.FunctionTask


def test_python_dash_m_flowyard_step_is_the_entrypoint() -> None:
    proc = subprocess.run([sys.executable, "-m", "flowyard.step"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr == "usage: python -m flowyard.step TASK.json | exec ...\n"


def test_the_step_image_code_loads_no_backend_plugin_or_cli() -> None:
    code = (
        "import json, sys; import flowyard.step, flowyard.function_task; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('flowyard'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(proc.stdout)
    assert "flowyard.stepimage.step" in loaded and "flowyard.stepimage.function_task" in loaded
    assert not [m for m in loaded if m.startswith("flowyard_") or m in {"flowyard._cli", "flowyard.plugins"}]
