"""Artifact repositories, archives, S3 and ``data`` templates (docs/backends/argo-executor.md, "Artifacts").

S3 is moto's server on 127.0.0.1; archives are read back with tarfile/gzip as ``argoexec`` would write them."""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from flowyard_argo.executor.artifacts import archive
from flowyard_argo.executor.artifacts.repository import RepositoryError, load_repository
from flowyard_argo.executor.artifacts.secrets import Secrets
from flowyard_argo.executor.artifacts.setup import artifact_settings
from flowyard_argo.executor.artifacts.transfer import ArtifactError, ArtifactMissing, ArtifactSettings, ArtifactStore

from .conftest import by_display, needs_namespaces, run_manifest
from .test_artifacts_seed import ACCESS, SECRET, S3Server

VALUES = {"workflow.name": "wf", "pod.name": "wf-main-123"}


@pytest.fixture
def s3() -> Iterator[S3Server]:
    server = S3Server("bucket")
    for key in server.keys("bucket"):  # moto keeps objects across servers in one process: each test starts empty
        server.client().delete_object(Bucket="bucket", Key=key)
    yield server
    server.server.stop()


def _secrets(tmp_path: Path) -> Secrets:
    folder = tmp_path / "secrets" / "cred"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a").write_text(ACCESS)
    (folder / "s").write_text(SECRET)
    return Secrets(tmp_path / "secrets", {})


def _repository(port: int, **extra: object) -> dict[str, object]:
    s3 = {
        "bucket": "bucket",
        "endpoint": f"127.0.0.1:{port}",
        "insecure": True,
        "accessKeySecret": {"name": "cred", "key": "a"},
        "secretKeySecret": {"name": "cred", "key": "s"},
        **extra,
    }
    return {"s3": s3}


def test_repository_ref_and_defaults(tmp_path: Path) -> None:
    def configmap(name: str, data: dict[str, object], default: str | None = None) -> dict[str, object]:
        annotations = {"workflows.argoproj.io/default-artifact-repository": default} if default else {}
        metadata = {"name": name, "annotations": annotations}
        return {"kind": "ConfigMap", "metadata": metadata, "data": {k: yaml.safe_dump(v) for k, v in data.items()}}

    controller = configmap("workflow-controller-configmap", {"artifactRepository": {"s3": {"bucket": "controller"}}})
    repos = configmap(
        "artifact-repositories", {"one": {"s3": {"bucket": "one"}}, "two": {"s3": {"bucket": "two"}}}, "one"
    )
    path = tmp_path / "repo.yaml"
    path.write_text(yaml.safe_dump_all([controller, repos]))
    assert load_repository(str(path), None)["s3"]["bucket"] == "one"  # type: ignore[index]
    assert load_repository(str(path), {"key": "two"})["s3"]["bucket"] == "two"  # type: ignore[index]
    with pytest.raises(RepositoryError, match="failed to find any artifact repository"):
        load_repository(str(path), {"configMap": "elsewhere"})
    path.write_text(yaml.safe_dump(controller))
    assert load_repository(str(path), None)["s3"]["bucket"] == "controller"  # type: ignore[index]
    assert load_repository(None, None) is None
    path.write_text(yaml.safe_dump({"artifactRepository": {"gcs": {"bucket": "g"}}}))
    with pytest.raises(RepositoryError, match="gcs repositories cannot be reached"):
        load_repository(str(path), None)


def test_archive_strategies_name_the_key(tmp_path: Path) -> None:
    store = ArtifactStore(ArtifactSettings(), tmp_path)
    source = tmp_path / "out.txt"
    source.write_text("hello")
    saved = store.save({"name": "result", "path": "/tmp/out.txt"}, source, tmp_path / "work", VALUES)
    assert saved == {"folder": {"key": "wf/wf-main-123/result.tgz"}}
    with tarfile.open(tmp_path / "repository" / "wf/wf-main-123/result.tgz") as tar:
        assert tar.getnames() == ["out.txt"]
        assert tar.extractfile("out.txt").read() == b"hello"  # type: ignore[union-attr]
    plain = store.save({"name": "r", "path": "/tmp/out.txt", "archive": {"none": {}}}, source, tmp_path / "w", VALUES)
    assert plain == {"folder": {"key": "wf/wf-main-123/out.txt"}}
    zipped = {"name": "z", "path": "/tmp/out.txt", "archive": {"zip": {}}}
    assert store.save(zipped, source, tmp_path / "w", VALUES) == {"folder": {"key": "wf/wf-main-123/z.zip"}}
    store.load({**zipped, "s3": {"key": "wf/wf-main-123/z.zip"}}, tmp_path / "unzipped", VALUES)
    assert (tmp_path / "unzipped").read_text() == "hello"  # one entry: the path itself
    store = ArtifactStore(ArtifactSettings({"s3": {"bucket": "b", "keyFormat": "k/{{workflow.uid}}"}}), tmp_path)
    with pytest.raises(ArtifactError, match=r"failed to resolve \{\{workflow.uid\}\}"):
        store.archive(VALUES)


def test_load_detects_tarballs_and_refuses_escapes(tmp_path: Path) -> None:
    store = ArtifactStore(ArtifactSettings(), tmp_path)
    repository = tmp_path / "repository"
    repository.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in ("d/one", "d/two"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    (repository / "folder.tgz").write_bytes(buffer.getvalue())
    store.load({"name": "in", "s3": {"key": "folder.tgz"}}, tmp_path / "got", VALUES)
    assert sorted(p.name for p in (tmp_path / "got").iterdir()) == ["one", "two"]  # one entry (d/): the path
    (repository / "plain").write_bytes(b"not a tarball")
    store.load({"name": "in", "s3": {"key": "plain"}}, tmp_path / "plain", VALUES)
    assert (tmp_path / "plain").read_bytes() == b"not a tarball"
    store.load({"name": "in", "s3": {"key": "folder.tgz"}, "archive": {"none": {}}}, tmp_path / "raw", VALUES)
    assert (tmp_path / "raw").read_bytes() == buffer.getvalue()
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escaped")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    (repository / "evil.tgz").write_bytes(evil.getvalue())
    with pytest.raises(ArtifactError, match="cannot unpack"):
        store.load({"name": "in", "s3": {"key": "evil.tgz"}}, tmp_path / "sub" / "evil", VALUES)
    assert not (tmp_path / "sub" / "escaped").exists()
    with pytest.raises(ArtifactMissing):
        store.load({"name": "in", "s3": {"key": "nothing"}}, tmp_path / "none", VALUES)
    assert archive.is_tarball(repository / "folder.tgz") and not archive.is_tarball(repository / "plain")


def test_s3_folder_save_and_prefix_load(tmp_path: Path, s3: S3Server) -> None:
    settings = ArtifactSettings(_repository(s3.port), _secrets(tmp_path))
    store = ArtifactStore(settings, tmp_path)
    folder = tmp_path / "out"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A")
    (folder / "sub" / "b.txt").write_text("B")
    art = {"name": "dir", "path": "/out", "archive": {"none": {}}, "s3": {"key": "prefix/dir"}}
    assert store.save(art, folder, tmp_path / "w", VALUES)["s3"]["key"] == "prefix/dir"
    assert sorted(s3.keys("bucket")) == ["prefix/dir/a.txt", "prefix/dir/sub/b.txt"]
    store.load({"name": "in", "s3": {"key": "prefix/dir"}}, tmp_path / "back", VALUES)
    assert (tmp_path / "back" / "sub" / "b.txt").read_text() == "B"
    assert store.list({"name": "l", "s3": {"key": "prefix"}}, VALUES) == ["prefix/dir/a.txt", "prefix/dir/sub/b.txt"]
    keyless = {"name": "l", "s3": {"bucket": "elsewhere"}}  # Relocate keeps the empty key: the whole bucket
    assert store.list(keyless, VALUES) == ["prefix/dir/a.txt", "prefix/dir/sub/b.txt"]
    with pytest.raises(ArtifactMissing, match="no key found of name nope"):
        store.list({"name": "l", "s3": {"key": "nope"}}, VALUES)
    with pytest.raises(ArtifactMissing):
        store.load({"name": "in", "s3": {"key": "prefix/none"}}, tmp_path / "none", VALUES)
    settings = ArtifactSettings(
        _repository(s3.port, accessKeySecret={"name": "cred", "key": "missing"}), _secrets(tmp_path)
    )
    with pytest.raises(ArtifactError, match="secret 'cred' key 'missing' not found") as e:
        ArtifactStore(settings, tmp_path).list({"name": "l", "s3": {"key": "prefix"}}, VALUES)
    assert SECRET not in str(e.value)


def test_complete_location_is_used_as_written(tmp_path: Path, s3: S3Server) -> None:
    s3.client().create_bucket(Bucket="other")
    store = ArtifactStore(ArtifactSettings(None, _secrets(tmp_path)), tmp_path)
    source = tmp_path / "f"
    source.write_text("x")
    own = {**_repository(s3.port)["s3"], "bucket": "other", "key": "mine.tgz"}  # type: ignore[dict-item]
    assert store.save({"name": "o", "path": "/f", "s3": own}, source, tmp_path / "w", VALUES) == {"s3": own}
    assert s3.keys("other") == ["mine.tgz"]
    partial = {"name": "o", "path": "/f", "s3": {"endpoint": "minio:9000", "key": "k"}}  # no bucket: relocated
    assert store.save(partial, source, tmp_path / "w", VALUES) == {"folder": {"key": "k"}}
    archive_location = {"s3": {**own, "key": "custom/{{pod.name}}"}}  # a template's own archiveLocation
    saved = store.save({"name": "o", "path": "/f"}, source, tmp_path / "w", VALUES, archive_location)
    assert saved["s3"]["key"] == "custom/wf-main-123/o.tgz" and saved["s3"]["bucket"] == "other"
    assert sorted(s3.keys("other")) == ["custom/wf-main-123/o.tgz", "mine.tgz"]


def test_endpoint_rules(tmp_path: Path) -> None:
    settings = ArtifactSettings()
    assert settings.endpoint_of({"endpoint": "127.0.0.1:9000", "insecure": True}) == "http://127.0.0.1:9000"
    assert settings.endpoint_of({"endpoint": "localhost:9000"}) == "https://localhost:9000"
    with pytest.raises(ArtifactError, match="minio:9000 is not on this machine"):
        settings.endpoint_of({"endpoint": "minio:9000", "insecure": True})
    with pytest.raises(ArtifactError, match=r"s3\.amazonaws\.com is not on this machine"):
        settings.endpoint_of({"bucket": "b"})
    assert ArtifactSettings(endpoint="127.0.0.1:1").endpoint_of({"endpoint": "minio:9000"}) == "https://127.0.0.1:1"
    assert ArtifactSettings(allow_remote=True).endpoint_of({"endpoint": "minio:9000"}) == "https://minio:9000"
    spec = {"templates": [{"outputs": {"artifacts": [{"s3": {"endpoint": "s3.example", "bucket": "b", "key": "k"}}]}}]}
    with pytest.raises(RepositoryError, match=r"s3\.example is not on this machine"):
        artifact_settings(spec)
    assert artifact_settings(spec, endpoint="127.0.0.1:9").endpoint == "127.0.0.1:9"


DATA = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: d}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - {name: list, template: list}
  - name: make
    script:
      image: python:3
      command: [python3]
      source: |
        import os
        os.makedirs("/out/sub", exist_ok=True)
        for name in ("a.csv", "b.txt", "sub/c.csv"):
            open("/out/" + name, "w").write(name)
    outputs:
      artifacts:
      - {name: files, path: /out, archive: {none: {}}, s3: {key: "{{workflow.name}}/files"}}
  - name: list
    data:
      source:
        artifactPaths: {name: files, s3: {key: "{{workflow.name}}/files"}}
      transformation:
      - expression: 'filter(data, {# endsWith ".csv"})'
      - expression: 'map(data, {# + "!"})'
"""


@needs_namespaces
def test_data_template_lists_and_filters(tmp_path: Path) -> None:
    run = run_manifest(DATA, tmp_path)
    nodes = by_display(run)
    listing = nodes["list"]
    assert listing.type == "Pod" and listing.phase.value == "Succeeded", listing.message  # type: ignore[attr-defined]
    assert json.loads(listing.outputs["result"]) == ["d/files/a.csv!", "d/files/sub/c.csv!"]  # type: ignore[attr-defined]
    missing = run_manifest(
        DATA.replace(
            'artifactPaths: {name: files, s3: {key: "{{workflow.name}}/files"}}',
            'artifactPaths: {name: files, s3: {key: "nowhere"}}',
        ),
        tmp_path / "again",
    )
    node = by_display(missing)["list"]
    assert node.phase.value == "Failed"  # type: ignore[attr-defined]
    assert node.message == (  # type: ignore[attr-defined]
        "unable to process data template: unable to process data source: unable to source artifact paths: "
        "no key found of name nowhere"
    )


def test_secrets_from_files_then_the_environment_and_redacted(tmp_path: Path) -> None:
    (tmp_path / "my-cred").mkdir()
    (tmp_path / "my-cred" / "access").write_text("from-a-file-123\n")
    secrets = Secrets(tmp_path, {"FLOWYARD_SECRET_MY_CRED_SECRET_KEY": "from-the-env-456"})
    assert secrets.value({"name": "my-cred", "key": "access"}) == "from-a-file-123"
    assert secrets.value({"name": "my-cred", "key": "secret.key"}) == "from-the-env-456"
    assert secrets.value(None) is None
    with pytest.raises(LookupError, match=r"\$FLOWYARD_SECRET_OTHER_K"):
        secrets.value({"name": "other", "key": "k"})
    assert secrets.redact("a from-a-file-123 b from-the-env-456") == "a *** b ***"


LOGS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: logs}
spec:
  entrypoint: main
  archiveLogs: true
  templates:
  - name: main
    steps:
    - - {name: kept, template: say}
    - - {name: not-kept, template: quiet}
  - name: say
    container: {image: python:3, command: [python3, -c, "import sys; print('out'); print('err', file=sys.stderr)"]}
  - name: quiet
    archiveLocation: {archiveLogs: false}
    container: {image: python:3, command: [python3, -c, "print('nothing kept')"]}
"""


@needs_namespaces
def test_archive_logs_saves_main_log_by_the_workflow_and_the_template(tmp_path: Path) -> None:
    run = run_manifest(LOGS, tmp_path)
    nodes = by_display(run)
    kept, quiet = nodes["kept"], nodes["not-kept"]
    assert run.phase.value == "Succeeded"
    assert [a["name"] for a in kept.outputs["artifacts"]] == ["main-logs"]  # type: ignore[attr-defined]
    log = tmp_path / "repository" / "logs" / kept.pod / "main.log"  # type: ignore[attr-defined]
    assert log.read_text() == "out\nerr\n"
    assert "artifacts" not in quiet.outputs  # type: ignore[attr-defined]
    assert not (tmp_path / "repository" / "logs" / quiet.pod).exists()  # type: ignore[attr-defined]


def test_an_upload_that_fails_is_an_artifact_error(tmp_path: Path, s3: S3Server) -> None:
    settings = ArtifactSettings(_repository(s3.port, bucket="no-such-bucket"), _secrets(tmp_path))
    source = tmp_path / "a.txt"
    source.write_text("A")
    art = {"name": "o", "path": "/a.txt", "s3": {"key": "k"}}
    with pytest.raises(ArtifactError, match="failed to put s3://no-such-bucket/k"):
        ArtifactStore(settings, tmp_path).save(art, source, tmp_path / "w", VALUES)


KEY_FORMAT = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: kf}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: python:3, command: [python3, -c, "open('/tmp/o.txt', 'w').write('o')"]}
    outputs:
      artifacts:
      - {name: o, path: /tmp/o.txt}
"""


@needs_namespaces
def test_key_format_names_creation_time_workflow_and_pod(tmp_path: Path, s3: S3Server) -> None:
    from flowyard_argo.executor.images import ImageMap
    from flowyard_argo.executor.versions import argo_version
    from flowyard_argo.executor.workflow import prepare, run_workflow

    key_format = "art/{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/{{workflow.name}}/{{pod.name}}"
    settings = ArtifactSettings(_repository(s3.port, keyFormat=key_format), _secrets(tmp_path))
    version = argo_version("4.1.2")
    wf, _ = prepare(yaml.safe_load(KEY_FORMAT), version, source="kf.yaml")
    run = run_workflow(wf, version, ImageMap.load(None), tmp_path / "run", artifact_settings=settings)
    assert run.phase.value == "Succeeded", run.message
    created = time.gmtime()  # the run's creation time: this UTC moment's year and month
    year, month = str(created.tm_year), f"{created.tm_mon:02d}"
    assert s3.keys("bucket") == [f"art/{year}/{month}/kf/kf/o.tgz"]


def test_tarballs_unpack_safely_on_a_python_without_tarfiles_data_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same loads, as on a Python whose tarfile predates extraction filters: escapes refused all the same."""
    plain_extractall = tarfile.TarFile.extractall

    def old_extractall(self: tarfile.TarFile, *args: object, **kwargs: object) -> None:
        if "filter" in kwargs:
            raise TypeError("TarFile.extractall() got an unexpected keyword argument 'filter'")
        plain_extractall(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.delattr(tarfile, "data_filter", raising=False)  # absent before Python 3.11.4
    monkeypatch.setattr(tarfile.TarFile, "extractall", old_extractall)
    test_load_detects_tarballs_and_refuses_escapes(tmp_path)
    for name, kind, link in (
        ("/abs", tarfile.REGTYPE, ""),
        ("ln", tarfile.SYMTYPE, "../../out"),
        ("dev", tarfile.CHRTYPE, ""),
    ):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, link
            tar.addfile(info)
        (tmp_path / "repository" / "bad.tgz").write_bytes(buffer.getvalue())
        store = ArtifactStore(ArtifactSettings(), tmp_path)
        with pytest.raises(ArtifactError, match="cannot unpack"):
            store.load({"name": "in", "s3": {"key": "bad.tgz"}}, tmp_path / "bad" / name.strip("/"), VALUES)
