"""``python -m tonewatch.flows`` runs the command line."""

from .cli import main

main()
