"""Artifact repositories, drivers and archives for the executor: where ``argoexec`` saves and loads artifacts.

``repository`` reads the default repository (Argo's configmap formats), ``locations`` relocates an artifact onto it
as ``Artifact.Relocate`` does, ``archive`` packs and unpacks as ``saveArtifact``/``unarchiveArtifact``, ``s3``
talks to an S3 server, ``secrets`` resolves the secrets it names, ``transfer`` saves and loads for a pod, ``data``
runs ``data`` templates.
"""
