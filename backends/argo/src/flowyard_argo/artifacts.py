"""A step's input and output files as Argo artifacts: keyed in the pipeline's S3 store (a folder per step and
output, a sub-folder per item), never unpacked (``archive: none``)."""

from __future__ import annotations

from typing import Any

from flowyard.ir import InputIR, ItemSource, OutputIR, S3StoreIR, StepIR, StepOutputSource
from hera.workflows import Artifact, NoneArchiveStrategy, S3Artifact
from hera.workflows import models as m

from flowyard_argo.fan_ins import list_artifact
from flowyard_argo.layout import CompilerLayout
from flowyard_argo.names import AWS_S3_ENDPOINT, P_INDEX
from flowyard_argo.references import StepCalls


class ArtifactWiring(CompilerLayout):
    """Where each file artifact of a step is stored and read from."""

    def s3(self) -> dict[str, Any]:
        """The S3 location fields every artifact of a pipeline with an S3 store carries."""
        store = self.ir.store
        if not isinstance(store, S3StoreIR):
            return {}
        # S3Artifact.HasLocation needs an endpoint: without one the artifact would go to the default repository
        fields: dict[str, Any] = {"bucket": store.bucket, "endpoint": store.endpoint or AWS_S3_ENDPOINT}
        if store.insecure:
            fields["insecure"] = True
        if store.region:
            fields["region"] = store.region
        if store.access_key:
            fields["access_key_secret"] = m.SecretKeySelector(name=store.access_key.secret, key=store.access_key.key)
        if store.secret_key:
            fields["secret_key_secret"] = m.SecretKeySelector(name=store.secret_key.secret, key=store.secret_key.key)
        return fields

    def keyed(self) -> bool:
        return isinstance(self.ir.store, S3StoreIR)

    def output_artifact(self, step: StepIR, out: OutputIR) -> Artifact:
        path = self.output_path(step, out)
        archive = NoneArchiveStrategy()
        if step.for_each is not None:
            key = self.key(step, out, indexed=f"{{{{inputs.parameters.{P_INDEX}}}}}")
            return S3Artifact(name=out.name, path=path, key=key, archive=archive, **self.s3())
        if self.keyed():
            key = self.key(step, out, indexed=None)
            return S3Artifact(name=out.name, path=path, key=key, archive=archive, **self.s3())
        return Artifact(name=out.name, path=path, archive=archive)

    def list_artifact_of(self, step: StepIR, out: OutputIR, path: str) -> Artifact:
        """A value output also saved as a file, for a fan-out's item helper (never unpacked: ``archive: none``)."""
        name, archive = list_artifact(out.name), NoneArchiveStrategy()
        if self.keyed():
            key = f"{self.key(step, out, indexed=None)}/{name}"
            return S3Artifact(name=name, path=path, key=key, archive=archive, **self.s3())
        return Artifact(name=name, path=path, archive=archive)

    def input_artifact(self, step: StepIR, inp: InputIR, calls: StepCalls) -> Artifact:
        """An input file or folder, with ``archive: none``: without it the executor unpacks anything that looks
        like a tarball (``workflow/executor/executor.go`` ``unarchiveArtifact``), a user's ``.tar.gz`` included."""
        path = self.input_path(step, inp)
        archive = NoneArchiveStrategy()
        src = inp.source
        if isinstance(src, ItemSource):  # fan-out over a fanned-out step's files: item i reads file i
            assert step.for_each is not None and isinstance(step.for_each.source, StepOutputSource)
            up = self.steps[step.for_each.source.step]
            out = up.output(step.for_each.source.output)
            key = self.key(up, out, indexed=f"{{{{inputs.parameters.{P_INDEX}}}}}")
            return S3Artifact(name=inp.name, path=path, archive=archive, key=key, **self.s3())
        assert isinstance(src, StepOutputSource)
        up = self.steps[src.step]
        out = up.output(src.output)
        if src.collect or self.keyed():  # a fan-in reads the whole key prefix as a folder, one sub-folder per item
            key = self.key(up, out, indexed=None)
            # an empty fan-out writes no key under the prefix: loadS3Artifact's NotFound, unless optional
            optional = True if src.collect else None
            return S3Artifact(name=inp.name, path=path, archive=archive, key=key, optional=optional, **self.s3())
        calls.artifacts[inp.name] = {"from_": f"{{{{tasks.{up.dns_name}.outputs.artifacts.{out.name}}}}}"}
        return Artifact(name=inp.name, path=path, archive=archive)
