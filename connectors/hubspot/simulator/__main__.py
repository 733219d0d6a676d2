"""``python -m connectors.hubspot.simulator``: serve the simulator alone."""

from connectors.hubspot.simulator.app import main

main()
