"""The policy engine (docs/governance.md): guardrail rules as data, decided at a run's checkpoints.

Documents are loaded and validated by ``load_policy_file``/``parse_policy``, compiled once by
``PolicyEngine.compile`` and evaluated by ``PolicyEngine.decide``, which is pure, deterministic
and fails closed, so the workflow can call it directly.
"""

from agentrun.logic.policy.engine import PolicyEngine
from agentrun.logic.policy.facts import CannotEvaluate, PolicyError, RunFacts
from agentrun.logic.policy.loader import load_policy_file, parse_json, parse_policy, parse_yaml

__all__ = [
    "CannotEvaluate",
    "PolicyEngine",
    "PolicyError",
    "RunFacts",
    "load_policy_file",
    "parse_json",
    "parse_policy",
    "parse_yaml",
]
