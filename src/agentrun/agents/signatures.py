"""A typed function read as a tool contract: its signature is the params model, its return type
the output model, its docstring what the model reads (``@tool``, in ``agents.api``).

Pydantic does the typing (``create_model`` for the params, ``TypeAdapter`` to check each type has
a JSON Schema) and ``docstring_parser`` the docstrings, in any style it knows (Google, NumPy,
reST), so what a tool author already writes is what the model is shown.
"""

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_type_hints

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, TypeAdapter, create_model

from agentrun.agents.registry import RegistryError, ToolContext


class DeclarationError(RegistryError):
    """A tool or agent that cannot become a contract, named with the thing to fix."""


@dataclass(frozen=True)
class Arg:
    """How one of the function's parameters is filled: from a params field, or the context."""

    name: str
    field: str | None  # None: the ToolContext
    keyword_only: bool


@dataclass(frozen=True)
class Signature:
    args: tuple[Arg, ...]
    params: type[BaseModel]
    output: type[BaseModel]
    # The output is {"result": <what the function returns>}, not the function's own model.
    wrapped: bool
    # The docstring's summary and description, without its Args/Returns sections.
    description: str

    @property
    def param_names(self) -> list[str]:
        return [arg.name for arg in self.args if arg.field is not None]


def read_signature(function: Callable[..., Any], where: str) -> Signature:
    """Refuses, naming the parameter, what the model could not be shown or could not fill."""
    doc = docstring_parser.parse(inspect.getdoc(function) or "")
    try:
        hints = get_type_hints(function, include_extras=True)
    except (NameError, TypeError) as err:
        raise DeclarationError(f"{where}: its type hints cannot be resolved: {err}") from None
    args, params = _params(function, hints, doc, where)
    output, wrapped = _output(function, hints, doc, where)
    description = "\n\n".join(p for p in (doc.short_description, doc.long_description) if p)
    return Signature(args, params, output, wrapped, description)


def _params(
    function: Callable[..., Any],
    hints: dict[str, Any],
    doc: docstring_parser.Docstring,
    where: str,
) -> tuple[tuple[Arg, ...], type[BaseModel]]:
    described = {p.arg_name: " ".join((p.description or "").split()) for p in doc.params}
    args: list[Arg] = []
    fields: dict[str, Any] = {}
    taken = [name for name in hints if name != "return"]
    for param in inspect.signature(function).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            stars = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise DeclarationError(
                f"{where}: parameter {stars}{param.name}: a tool's parameters must be named, "
                "since the model passes arguments by name"
            )
        if param.name not in hints:
            raise DeclarationError(
                f"{where}: parameter {param.name} has no type hint (the model needs its type)"
            )
        hint = hints[param.name]
        keyword_only = param.kind is param.KEYWORD_ONLY
        if hint is ToolContext:
            if any(arg.field is None for arg in args):
                raise DeclarationError(f"{where}: parameter {param.name}: a second ToolContext")
            args.append(Arg(param.name, None, keyword_only))
            continue
        _check_schema(hint, f"{where}: parameter {param.name}")
        if described.get(param.name):
            hint = _described(hint, described[param.name])
        field = _field_name(param.name, [*taken, *fields])
        if field != param.name:  # a name pydantic keeps for itself: the schema still says it
            hint = Annotated[hint, Field(alias=param.name)]
        fields[field] = (hint, ... if param.default is param.empty else param.default)
        args.append(Arg(param.name, field, keyword_only))
    stray = sorted(set(described) - {arg.name for arg in args})
    if stray:
        known = ", ".join(arg.name for arg in args if arg.field is not None) or "none"
        raise DeclarationError(
            f"{where}: its docstring describes {', '.join(stray)}, which is not one of its "
            f"parameters ({known})"
        )
    return tuple(args), _model(function, "Params", fields, where)


def _output(
    function: Callable[..., Any],
    hints: dict[str, Any],
    doc: docstring_parser.Docstring,
    where: str,
) -> tuple[type[BaseModel], bool]:
    """A pydantic model is the output as it is; any other type is wrapped as ``{"result": ...}``
    because a tool's output (what the model reads, what the contract checks) is a JSON object."""
    if "return" not in hints:
        raise DeclarationError(
            f"{where}: no return type: annotate it (a pydantic model is the output as is; "
            'any other type is wrapped as {"result": ...})'
        )
    hint = hints["return"]
    if inspect.isclass(hint) and issubclass(hint, BaseModel) and hint is not BaseModel:
        return hint, False
    _check_schema(hint, f"{where}: return type")
    returns = " ".join((doc.returns.description or "").split()) if doc.returns else ""
    result = _described(hint, returns) if returns else hint
    return _model(function, "Output", {"result": (result, ...)}, where), True


def caller(function: Callable[..., Any], signature: Signature) -> Callable[[Any, ToolContext], Any]:
    """The ``fn(params, ctx)`` the tool activity calls, spreading the params over the
    function's own parameters. A plain ``def`` runs in a thread, so its blocking I/O does not
    stall the worker's other activities; it cannot be interrupted, though: a timed-out attempt
    is abandoned and its thread runs to its end."""
    is_async = inspect.iscoroutinefunction(function)

    async def call(params: BaseModel, ctx: ToolContext) -> Any:
        positional: list[Any] = []
        named: dict[str, Any] = {}
        for arg in signature.args:
            value = ctx if arg.field is None else getattr(params, arg.field)
            if arg.keyword_only:
                named[arg.name] = value
            else:
                positional.append(value)
        if is_async:
            raw = await function(*positional, **named)
        else:
            raw = await asyncio.to_thread(function, *positional, **named)
        return {"result": raw} if signature.wrapped else raw

    return call


def _check_schema(hint: Any, where: str) -> None:
    """A type the model cannot be shown as JSON Schema cannot be part of a contract."""
    try:
        TypeAdapter(hint).json_schema()
    except (PydanticUserError, TypeError, ValueError) as err:
        reason = str(err).splitlines()[0]
        raise DeclarationError(f"{where}: {hint!r} has no JSON Schema ({reason})") from None


def _described(hint: Any, text: str) -> Any:
    """The docstring's description goes innermost, so a ``Field(description=...)`` in the
    annotation or the default still wins."""
    metadata = getattr(hint, "__metadata__", None)
    if metadata is None:
        return Annotated[hint, Field(description=text)]
    return Annotated[(hint.__origin__, Field(description=text), *metadata)]


def _field_name(name: str, taken: list[str]) -> str:
    """The parameter's own name, unless pydantic reserves it (``json``, ``schema``, ``_x``)."""
    if not name.startswith("_") and not hasattr(BaseModel, name):
        return name
    field = f"{name.strip('_')}_param"
    while field in taken:
        field += "_"
    return field


def _model(
    function: Callable[..., Any], suffix: str, fields: dict[str, Any], where: str
) -> type[BaseModel]:
    camel = "".join(part.capitalize() for part in function.__name__.split("_") if part)
    try:
        model: type[BaseModel] = create_model(
            f"{camel}{suffix}",
            __config__=ConfigDict(extra="forbid"),
            __module__=function.__module__,
            **fields,
        )
        model.model_json_schema()
    except (PydanticUserError, TypeError, ValueError) as err:
        raise DeclarationError(f"{where}: {str(err).splitlines()[0]}") from None
    return model
