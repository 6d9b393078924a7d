"""`python -m app.cli` runs the `flowwright` command (used by tests and subprocesses)."""

from app.cli.main import main

main()
