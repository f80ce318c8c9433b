"""``python -m nksim`` runs the command line."""

from nksim.cli import main

main()
