"""The seed's Solution 2 as a user runs it: a fresh folder, the CLI, no FLOWYARD_HOME, artifacts on a real S3
server (moto's, on 127.0.0.1) standing in for the study's MinIO, the manifest read verbatim from ``../shared``."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import needs_namespaces
from .test_cli import ROOT, SEED, invoke, seed_image_map

ACCESS, SECRET = "seed-access-key", "seed-s3cr3t-value-123"


class S3Server:
    """moto in server mode on a free loopback port, one bucket made."""

    def __init__(self, bucket: str) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        self.port = self.server._server.server_port  # type: ignore[attr-defined]
        self.client().create_bucket(Bucket=bucket)

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.port}",
            region_name="us-east-1",
            aws_access_key_id=ACCESS,
            aws_secret_access_key=SECRET,
        )

    def keys(self, bucket: str) -> list[str]:
        return [o["Key"] for o in self.client().list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture
def s3() -> Iterator[S3Server]:
    server = S3Server("my-bucket")
    yield server
    server.server.stop()


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWYARD_HOME", raising=False)
    return tmp_path


def minio_repository(folder: Path) -> Path:
    """The study cluster's repository as its workflow-controller-configmap holds it: MinIO at ``minio:9000``."""
    repository = {
        "s3": {
            "bucket": "my-bucket",
            "endpoint": "minio:9000",
            "insecure": True,
            "accessKeySecret": {"name": "my-minio-cred", "key": "accesskey"},
            "secretKeySecret": {"name": "my-minio-cred", "key": "secretkey"},
        }
    }
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "workflow-controller-configmap"},
        "data": {"artifactRepository": yaml.safe_dump(repository)},
    }
    path = folder / "artifact-repository.yaml"
    path.write_text(yaml.safe_dump(configmap))
    return path


def secrets_folder(folder: Path) -> Path:
    secrets = folder / "secrets" / "my-minio-cred"
    secrets.mkdir(parents=True)
    (secrets / "accesskey").write_text(ACCESS)
    (secrets / "secretkey").write_text(SECRET + "\n")
    return folder / "secrets"


@needs_namespaces
@pytest.mark.parametrize("version", ["3.6.19", "4.1.2"])
def test_seed_solution2_runs_against_s3_with_the_manifest_untouched(here: Path, s3: S3Server, version: str) -> None:
    manifest = SEED / "solution2.yaml"
    if not manifest.is_file():
        pytest.skip(f"{manifest} is absent (the shared seed manifests)")
    options = [
        f"image_map={seed_image_map(here)}",
        f"artifact_repository={minio_repository(here)}",
        f"secrets={secrets_folder(here)}",
        f"s3_endpoint=127.0.0.1:{s3.port}",
        f"argo_version={version}",
    ]
    name = "seed-two-" + version.replace(".", "-")  # moto keeps its objects across servers in one process
    args = ["run", str(manifest), "--name", name]
    for option in options:
        args += ["-O", option]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and ACCESS not in result.output
    run = here / ".flowyard" / "runs" / name
    status = json.loads((run / "workflow.json").read_text())["status"]
    pods = {n["displayName"]: n for n in status["nodes"].values() if n["type"] == "Pod"}
    assert all(n["phase"] == "Succeeded" for n in pods.values())
    activators = sorted(n["podName"] for n in pods.values() if n["displayName"].startswith("activator("))
    assert sorted(pods) == [
        'activator(0:event:{"msg":"activator run 1"},id:1)',
        'activator(1:event:{"msg":"activator run 2"},id:2)',
        "list-activator-outputs",
        f"processor(0:{name}/{activators[0]}/activator-output.tgz)",
        f"processor(1:{name}/{activators[1]}/activator-output.tgz)",
    ]
    (listing,) = [n for n in status["nodes"].values() if n["displayName"] == "list-activator-outputs"]
    listed = json.loads(listing["outputs"]["result"])
    assert listed == [f"{name}/{pod}/activator-output.tgz" for pod in activators]  # keyFormat's default
    keys = [k for k in s3.keys("my-bucket") if k.startswith(name + "/")]
    assert [k for k in keys if k.endswith("activator-output.tgz")] == listed
    documents = sorted(json.loads(p.read_text())["processed"]["msg"] for p in run.glob("artifacts/*/processor-output"))
    assert documents == ["activator run 1", "activator run 2"]
    assert len([k for k in keys if k.endswith("/processor-output.tgz")]) == 2


@needs_namespaces
def test_argos_artifact_repository_ref_example_saves_through_the_named_repository(here: Path, s3: S3Server) -> None:
    """Argo's ``artifact-repository-ref.yaml`` (a tested example) with the ``artifact-repositories`` ConfigMap of
    upstream's quick-start (``my-key``: MinIO), pointed at moto."""
    example = ROOT.parent / "shared" / "corpora" / "argo-examples" / "artifact-repository-ref.yaml"
    if not example.is_file():
        pytest.skip(f"{example} is absent (the shared corpus of Argo's examples)")
    repository = yaml.safe_load(yaml.safe_load(minio_repository(here).read_text())["data"]["artifactRepository"])
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "artifact-repositories",
            "annotations": {"workflows.argoproj.io/default-artifact-repository": "default-v1"},
        },
        "data": {"default-v1": "s3: {bucket: not-this-one}", "my-key": yaml.safe_dump(repository)},
    }
    (here / "repositories.yaml").write_text(yaml.safe_dump(configmap))
    images = ROOT / "benchmarks" / "argo_examples_images.yaml"
    args = [
        "run",
        str(example),
        "--name",
        "ref",
        "-O",
        f"image_map={images}",
        "-O",
        "artifact_repository=repositories.yaml",
    ]
    args += ["-O", f"secrets={secrets_folder(here)}", "-O", f"s3_endpoint=127.0.0.1:{s3.port}"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    (key,) = [k for k in s3.keys("my-bucket") if k.startswith("ref/")]
    assert key == "ref/ref/hello_world.tgz"  # GeneratePodName: a pod at the workflow's root is named as the workflow
    body = s3.client().get_object(Bucket="my-bucket", Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert tar.getnames() == ["hello_world.txt"]
        assert tar.extractfile("hello_world.txt").read() == b"hello world\n"  # type: ignore[union-attr]
