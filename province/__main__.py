"""``python -m province`` runs the commune-monitor CLI."""

from province.cli import main

main()
