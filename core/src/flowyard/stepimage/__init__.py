"""Code that runs inside a step's image, not in flowyard's own process: the step entrypoint
(:mod:`flowyard.stepimage.step`, run as ``python -m flowyard.step``) and the body of the kubeflow
backend's lightweight components (:mod:`flowyard.stepimage.function_task`).

It needs only ``flowyard-core`` and pydantic in the image, and imports no backend. The old module
paths ``flowyard.step`` and ``flowyard.function_task`` stay: compiled manifests and step images name
them, so they are the stable names to invoke.
"""
