"""The whole repository's pytest set-up: the contract kit's expected refusals count as passed checks."""

pytest_plugins = ["flowyard.testing.refusals"]
