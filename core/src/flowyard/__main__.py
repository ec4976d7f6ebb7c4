"""``python -m flowyard`` is the CLI."""

from flowyard.cli import main

main()
