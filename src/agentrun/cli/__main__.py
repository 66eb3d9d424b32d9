"""``python -m agentrun.cli``: the same as the ``agentrun`` console script."""

from agentrun.cli.app import main

main()
