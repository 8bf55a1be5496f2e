"""`python -m idp.cli` runs the `idp` command."""

from idp.cli import main

main()
