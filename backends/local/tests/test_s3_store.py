"""The S3 artifact store against a real S3 HTTP server on 127.0.0.1 (moto in server mode)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from flowyard.runs import read_journal
from moto.server import ThreadedMotoServer

from .conftest import EXAMPLES

CREDS = {"AWS_ACCESS_KEY_ID": "minio-user", "AWS_SECRET_ACCESS_KEY": "s3cr3t-minio-pass"}


class S3Server:
    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        self.port = self.server._server.server_port  # type: ignore[attr-defined]
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def client(self):  # type: ignore[no-untyped-def]
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=CREDS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDS["AWS_SECRET_ACCESS_KEY"],
        )

    def stop(self) -> None:
        self.server.stop()

    def restart(self) -> None:
        """Same port, same data (moto keeps its state in this process)."""
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()


@pytest.fixture
def s3() -> Iterator[S3Server]:
    server = S3Server()
    server.client().create_bucket(Bucket="flowyard")
    yield server
    server.stop()


def _env(s3: S3Server) -> dict[str, str]:
    return {**CREDS, "FLOWYARD_S3_ENDPOINT_URL": s3.endpoint, "AWS_EC2_METADATA_DISABLED": "true"}


def _flowyard(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "flowyard._cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_fanout_minio_runs_against_the_s3_server(s3: S3Server, tmp_path: Path) -> None:
    messages = [{"id": str(i), "event": {"n": i}} for i in range(200)]
    proc = _flowyard(
        ["run", str(EXAMPLES / "fanout-minio.yaml"), "--json", "-p", f"messages={json.dumps(messages)}"],
        tmp_path,
        _env(s3),
    )
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    events = status["outputs"]["events"]
    assert len(events) == 200
    client = s3.client()
    docs = []
    for uri in events:
        assert uri.startswith(f"s3://flowyard/runs/{status['run_id']}/tasks/processor/")
        key = uri.removeprefix("s3://flowyard/")
        docs.append(json.loads(client.get_object(Bucket="flowyard", Key=key)["Body"].read()))
    assert [d["n"] for d in docs] == list(range(200))
    prov_key = f"runs/{status['run_id']}/tasks/processor/000007/provenance.json"
    record = json.loads(client.get_object(Bucket="flowyard", Key=prov_key)["Body"].read())
    assert record["step"] == "processor" and record["item"] == 7
    dumped = json.dumps(record) + proc.stdout + proc.stderr
    assert CREDS["AWS_SECRET_ACCESS_KEY"] not in dumped
    assert CREDS["AWS_ACCESS_KEY_ID"] not in dumped


def test_endpoint_and_credentials_are_overridable_with_options(s3: S3Server, tmp_path: Path) -> None:
    env = {**CREDS, "AWS_EC2_METADATA_DISABLED": "true"}
    proc = _flowyard(["run", str(EXAMPLES / "fanout-minio.yaml"), "-O", f"s3_endpoint={s3.endpoint}"], tmp_path, env)
    assert proc.returncode == 0, proc.stderr


def test_wrong_credentials_are_an_infrastructure_error(s3: S3Server, tmp_path: Path) -> None:
    env = {**_env(s3), "AWS_SECRET_ACCESS_KEY": "wrong"}
    # moto accepts any credentials, so point at a closed port instead to make the store unusable
    env["FLOWYARD_S3_ENDPOINT_URL"] = "http://127.0.0.1:9"
    proc = _flowyard(["run", str(EXAMPLES / "fanout-minio.yaml")], tmp_path, env)
    assert proc.returncode == 3
    assert "artifact store unavailable" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "wrong" not in proc.stderr


def test_store_vanishing_mid_run_exits_3_and_resumes(s3: S3Server, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    spec = tmp_path / "vanish.yaml"
    spec.write_text(
        (EXAMPLES / "fanout-minio.yaml")
        .read_text()
        .replace(
            "  processor:\n",
            f"""  gate:
    python: {{function: "steplib:wait_for"}}
    inputs: {{path: "{gate}"}}
    after: [activator]
  processor:
    after: [gate]
""",
        )
    )
    (tmp_path / "steplib.py").write_text((Path(__file__).parent / "specs" / "steplib.py").read_text())
    (tmp_path / "bin").symlink_to(EXAMPLES / "bin")
    import os

    proc = subprocess.Popen(
        [sys.executable, "-m", "flowyard._cli", "run", str(spec), "--json"],
        cwd=tmp_path,
        env={**os.environ, **_env(s3)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    runs = tmp_path / ".flowyard" / "runs"

    def activators_done() -> int:
        journals = list(runs.glob("*/journal.jsonl")) if runs.exists() else []
        return sum(e.get("step") == "activator" for e in read_journal(journals[0])) if journals else 0

    try:
        deadline = time.time() + 60
        while activators_done() < 2:
            assert time.time() < deadline, "the activators did not finish"
            time.sleep(0.05)
        s3.stop()
        gate.write_text("")
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 3, err
    assert "artifact store unavailable" in err
    (run_dir,) = runs.iterdir()
    assert f"flowyard run --resume {run_dir.name}" in err

    s3.restart()
    resumed = _flowyard(["run", "--resume", run_dir.name, "--json"], tmp_path, _env(s3))
    assert resumed.returncode == 0, resumed.stderr
    status = json.loads(resumed.stdout)
    assert len(status["outputs"]["events"]) == 2
    journal = read_journal(run_dir / "journal.jsonl")
    assert sum(e.get("step") == "activator" for e in journal) == 2  # not run again
