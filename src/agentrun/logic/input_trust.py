"""Which filled fields of a run's input are private or untrusted (contracts/trust.py).

Pure: it reads the input model's field metadata and the validated input, nothing else. Fields the
author did not label count as both, so a new agent is safe before anyone thinks about labels.
"""

from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from agentrun.contracts.trust import InputTrust, TrustLabel

# Nesting this deep is a model nobody writes by hand; deeper parts take the labels in force.
_MAX_DEPTH = 32


def label_input(value: BaseModel) -> InputTrust:
    """The fields of ``value`` (an agent's validated input) that bring private data or outside
    content into the run."""
    walk = _Walk()
    walk.visit(value, "", None, None, 0)
    return InputTrust(private_fields=tuple(walk.private), untrusted_fields=tuple(walk.untrusted))


class _Walk:
    def __init__(self) -> None:
        self.private: list[str] = []
        self.untrusted: list[str] = []

    def visit(
        self, value: Any, path: str, private: bool | None, untrusted: bool | None, depth: int
    ) -> None:
        """``private``/``untrusted``: what a field above said (None: nothing, so far)."""
        if _empty(value):
            return
        deeper = depth < _MAX_DEPTH
        if deeper and isinstance(value, BaseModel) and None in (private, untrusted):
            for name, info in type(value).model_fields.items():
                field_private, field_untrusted = _labels(info)
                self.visit(
                    getattr(value, name),
                    _join(path, name),
                    private if private is not None else field_private,
                    untrusted if untrusted is not None else field_untrusted,
                    depth + 1,
                )
            for name, extra in (value.model_extra or {}).items():  # extra="allow": unlabelled
                self.visit(extra, _join(path, name), private, untrusted, depth + 1)
            return
        if deeper and _holds_models(value):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                where = _join(path, key) if isinstance(value, dict) else f"{path}[{key}]"
                self.visit(item, where, private, untrusted, depth + 1)
            return
        # A leaf (or a list of leaves): it is what its labels say, and unlabelled means both.
        if private is not False:
            self.private.append(path)
        if untrusted is not False:
            self.untrusted.append(path)


def _join(path: str, name: object) -> str:
    return f"{path}.{name}" if path else str(name)


def _labels(info: FieldInfo) -> tuple[bool | None, bool | None]:
    private: bool | None = None
    untrusted: bool | None = None
    for marker in info.metadata:
        if isinstance(marker, TrustLabel):
            private = marker.private if marker.private is not None else private
            untrusted = marker.untrusted if marker.untrusted is not None else untrusted
    return private, untrusted


def _holds_models(value: Any) -> bool:
    items = value.values() if isinstance(value, dict) else value
    return isinstance(value, dict | list | tuple) and any(isinstance(i, BaseModel) for i in items)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | dict | set) and not value)
