"""The ``agentrun`` command line: one typer app, one module per command group.

``main`` is the console script's entry point; it is imported lazily so that ``import
agentrun.cli.common`` (say, from a test) does not build the whole app.
"""


def main() -> None:
    from agentrun.cli.app import main as run_main  # noqa: PLC0415 -- see the module docstring

    run_main()
