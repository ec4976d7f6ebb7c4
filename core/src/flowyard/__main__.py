"""``python -m flowyard`` is the CLI."""

from flowyard._cli import main

main()
