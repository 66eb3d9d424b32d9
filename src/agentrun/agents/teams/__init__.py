"""Sample teams of agents (docs/teams.md), one module per pattern, each runnable offline on the
scripted model: ``AGENTRUN_AGENT_MODULES=agentrun.agents.teams.<module> agentrun worker``.

- ``pipeline``: sequential, a classifier then a reply writer; and a front desk that hands off.
- ``fanout``: parallel, a trip planner asking three finders at once and gathering their answers.
- ``supervisor``: hierarchical, an editor delegating a draft and having it fact-checked.
"""
