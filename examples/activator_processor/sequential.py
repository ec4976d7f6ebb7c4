"""Variant 1 with the Python API: the same pipeline as sequential.yaml."""

from flowyard import Container, Input, Output, Parameter, Pipeline, Step

pipeline = Pipeline(
    name="activator-processor-sequential",
    description="The seed's toy flow, in sequence.",
    parameters={"message": Parameter(type="object", default={"msg": "activator run"})},
    defaults={"image": "nasa-hsi", "workdir": "/workdir"},
    steps={
        "activator": Step(
            container=Container(command=["activator", "${{ params.message }}"]),
            outputs={"event": Output(path="activator_event.json")},
        ),
        "processor": Step(
            container=Container(command=["processor"]),
            inputs={"event": Input(value="${{ steps.activator.outputs.event }}", path="activator_event.json")},
            outputs={"event": Output(path="processor_event.json")},
        ),
    },
    outputs={"event": "${{ steps.processor.outputs.event }}"},
)
