"""`python -m contractwatch` runs the CLI."""

from contractwatch.cli import main

main()
