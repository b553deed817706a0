"""``python -m collector`` runs the commune-monitor CLI."""

from collector.cli import main

main()
