"""Variant 2 with the Python API: the same pipeline as fanout.yaml."""

from flowyard import Container, Input, Output, Parameter, Pipeline, Step

pipeline = Pipeline(
    name="activator-processor-fanout",
    description="The seed's toy flow, fanned out and gathered.",
    parameters={
        "messages": Parameter(
            type="list",
            default=[
                {"id": "1", "event": {"msg": "activator run 1"}},
                {"id": "2", "event": {"msg": "activator run 2"}},
            ],
        )
    },
    defaults={"image": "nasa-hsi", "workdir": "/workdir"},
    steps={
        "activator": Step(
            for_each="${{ params.messages }}",
            parallelism=2,
            container=Container(command=["activator", "${{ item.event }}"]),
            outputs={"event": Output(path="activator_event.json")},
        ),
        "processor": Step(
            for_each="${{ steps.activator.outputs.event }}",
            container=Container(command=["processor"]),
            inputs={"event": Input(value="${{ item }}", path="activator_event.json")},
            outputs={"event": Output(path="processor_event.json")},
        ),
    },
    outputs={"events": "${{ steps.processor.outputs.event }}"},
)
