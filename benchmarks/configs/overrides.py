"""``--set KEY=VALUE`` overrides, typed: each value is converted to its field's type before any
run is created, and a key names either a training field or one method's setting.

Keys:

- ``epochs=2``, ``milestones=[50,75]``: a :class:`TrainConfig` field, converted to the field's
  type (``int``, ``float``, ``bool``, ``tuple[int, ...]``, optional fields take ``null``) and
  range-checked by ``TrainConfig`` itself;
- ``cutmix.alpha=0.2``: a setting of method ``cutmix``, converted to the type of that field of
  the method's config; an error when that method is not being run or has no such field;
- ``method.alpha=0.2``: the setting of the one method being run (``train``); refused when
  several are (``compare``), which must name the method.

Values are JSON where they parse as JSON (numbers, booleans, lists, ``null``), else text.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Sequence
from typing import Any

OWN_METHOD = "method"
"""The prefix that names the run's only method (``method.alpha=0.5``)."""


def _describe(hint: Any) -> str:
    names = {int: "an integer", float: "a number", bool: "true or false", str: "text"}
    if hint in names:
        return names[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if origin is tuple:
        return f"a list of {_describe(args[0]).removeprefix('an ').removeprefix('a ')}s"
    if origin in (typing.Union, types.UnionType):
        kinds = [_describe(arg) for arg in args if arg is not type(None)]
        optional = " or null" if type(None) in args else ""
        return " or ".join(kinds) + optional
    return getattr(hint, "__name__", str(hint))


def convert(value: Any, hint: Any) -> Any:
    """``value`` (parsed JSON or text) as type ``hint``; ValueError when it is not one."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return convert(value, arg)
            except ValueError:
                continue
        raise ValueError
    if origin is typing.Literal:
        if value in args:
            return value
        raise ValueError
    if origin is tuple:
        items = value if isinstance(value, list) else [value]
        return tuple(convert(item, args[0]) for item in items)
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    raise ValueError


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def typed_value(owner: type, name: str, text: str, key: str) -> Any:
    """The text of ``--set key=text`` as the type of field ``name`` of dataclass ``owner``."""
    hint = typing.get_type_hints(owner)[name]
    value = _parse(text)
    try:
        converted = convert(value, hint)
    except ValueError:
        raise ValueError(
            f"--set {key}={text}: {key} takes {_describe(hint)}, got {text!r}."
        ) from None
    if isinstance(converted, float) and not math.isfinite(converted):
        raise ValueError(f"--set {key}={text}: {key} must be finite.")
    return converted


@dataclasses.dataclass(frozen=True)
class Overrides:
    """Parsed ``--set`` assignments: training fields and each method's settings (typed)."""

    fields: dict[str, Any]
    methods: dict[str, dict[str, Any]]


def split_assignments(
    assignments: Sequence[str], methods: Sequence[str], train_fields: type
) -> Overrides:
    """Typed overrides for a command that runs ``methods``.

    Raises:
        ValueError: a malformed assignment, an unknown key, a value of the wrong type, a
            setting for a method that is not run or has no such field, or ``method.<field>``
            while several methods run.
    """
    from benchmarks.methods import METHOD_NAMES, method_config_class

    settable = [f.name for f in dataclasses.fields(train_fields) if f.name not in _NOT_SETTABLE]
    fields: dict[str, Any] = {}
    per_method: dict[str, dict[str, Any]] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {assignment!r}.")
        owner, dot, name = key.partition(".")
        if not dot:
            if key not in settable:
                raise ValueError(
                    f"--set {key}: unknown setting; settings are {', '.join(settable)}, or "
                    "<method>.<field> for a method's own."
                )
            fields[key] = typed_value(train_fields, key, text, key)
            continue
        method = _method_of(owner, key, methods, METHOD_NAMES)
        config_class = method_config_class(method)
        known = {f.name for f in dataclasses.fields(config_class)} if config_class else set()
        if name not in known:
            has = ", ".join(sorted(known)) if known else "no settings"
            raise ValueError(
                f"--set {key}: method {method!r} has no setting {name!r}; it has {has}."
            )
        per_method.setdefault(method, {})[name] = typed_value(config_class, name, text, key)
    return Overrides(fields, per_method)


_NOT_SETTABLE = ("method_settings", "phases", "method")
"""Fields set by their own options or the preset (``--method``, the experiment's phases)."""


def _method_of(owner: str, key: str, methods: Sequence[str], known: Sequence[str]) -> str:
    if owner == OWN_METHOD:
        if len(methods) != 1:
            raise ValueError(
                f"--set {key}: this command runs several methods ({', '.join(methods)}); name "
                f"the one it is for, e.g. --set {methods[0]}.{key.partition('.')[2]}=..."
            )
        return methods[0]
    if owner not in known:
        raise ValueError(
            f"--set {key}: {owner!r} is neither a setting nor a method; methods are "
            f"{', '.join(known)}."
        )
    if owner not in methods:
        raise ValueError(
            f"--set {key}: method {owner!r} is not being run (this command runs "
            f"{', '.join(methods)})."
        )
    return owner
