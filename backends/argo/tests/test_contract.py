"""The argo backend adopts the contract kit exactly as a third-party backend would; the Argo executor is its
oracle: every canonical pipeline argo compiles is executed, by the controller's rules of each pinned release, and
must give the local backend's documents byte for byte."""

from pathlib import Path

import pytest
import yaml
from flowyard.errors import FlowyardError
from flowyard.testing import BackendContract
from flowyard.testing.contract import RUNNABLE, canonical_ir
from flowyard.testing.pipelines import SEED_IMAGE
from flowyard.testing.refusals import ExpectedRefusal
from flowyard_argo import ArgoBackend
from flowyard_argo.executor.images import host_python_entry
from flowyard_argo.executor.pods import namespaces_available
from flowyard_argo.executor.versions import ARGO_VERSIONS, DEFAULT_ARGO_VERSION

# The canonical Python-function steps name no image; on a cluster they need one with flowyard-core.
STEP_IMAGE = "registry.example/flowyard-step:0.1"


def host_image_map(folder: Path) -> Path:
    """The canonical pipelines' images on this machine: the step image and the seed's image are this Python
    environment (``python3 -m flowyard.step``, ``python3 -m flowyard.testing.apps``)."""
    entry = host_python_entry()
    path = folder / "images.yaml"
    path.write_text(yaml.safe_dump({"flowyard-step*": entry, SEED_IMAGE: entry}))
    return path


class TestArgoBackendContract(BackendContract):
    @pytest.fixture
    def backend(self):
        return ArgoBackend({"default_image": STEP_IMAGE})

    @pytest.mark.skipif(not namespaces_available(), reason="pods need unshare (mount+net namespaces)")
    @pytest.mark.parametrize("version", ARGO_VERSIONS)
    @pytest.mark.parametrize("name", RUNNABLE)
    def test_runs_produce_the_expected_documents(self, name, version, runs_root, tmp_path) -> None:
        """The compiled manifest, executed by each pinned release's rules, gives the local backend's documents."""
        if runs_root is None and version != DEFAULT_ARGO_VERSION:
            pytest.skip("the default runs folder does not depend on the Argo release: checked with the newest")
        options = {"default_image": STEP_IMAGE, "image_map": str(host_image_map(tmp_path)), "argo_version": version}
        backend = ArgoBackend(options)
        if name == "retries" and version == "3.6.19":
            with pytest.raises(FlowyardError, match=r"backoff\.cap is from 3\.7") as refused:
                backend.compile(canonical_ir(name))
            raise ExpectedRefusal(f"argo {version} refuses {name}: {refused.value}")
        super().test_runs_produce_the_expected_documents(backend, name, runs_root)
