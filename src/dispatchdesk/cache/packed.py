"""Wire models held by the hundred thousand, packed into tuples and unpacked on demand.

A desk holds every special scheme and protective order (100,000 of each at a big force). As
the protocol's frozen pydantic models each takes 1.4–2 KB even with its equal values shared
(:mod:`dispatchdesk.cache.compact`): an object and a sixteen-entry ``__dict__`` per model and
per nested model (a location, a person), and a list per list field, mostly empty. Packed,
a model is one tuple: its class, its fields-given set, then its fields' values in declaration
order, a nested model packed the same way and a list as a tuple of its items (every empty one
the same tuple). The values themselves (strings, times, enum members) are the model's own.

:func:`unpack` gives back a model equal to the one packed, of the same class, with the same
fields given and values of the same types (the same objects: equal strings and times stay
shared), and fresh lists: what ``model_construct`` would build, without its per-field loop
(a scheme unpacks in a few microseconds, where validating its JSON again takes tens).

Only immutable values are packed as they are: a model with a dict or set field would share
it between the models unpacked from one tuple, so packing one is refused (a test packs every
field of schemes and orders).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set_attr: Callable[[object, str, object], None] = object.__setattr__


class Packed(tuple[Any, ...]):
    """A packed model: ``(model class, fields-given set, value of each field in order)``."""

    __slots__ = ()


class _Items(tuple[Any, ...]):
    """A packed list field: its items, a model among them packed."""

    __slots__ = ()


#: Every empty list packs to this one tuple.
_NO_ITEMS = _Items()
#: Values kept as they are: immutable, and shared safely by every model unpacked.
_PLAIN: tuple[type, ...] = (str, int, float, bool, Enum, datetime, date, timedelta, type(None))
#: Each model class's field names, in declaration order (its ``__dict__``'s order).
_NAMES: dict[type[BaseModel], tuple[str, ...]] = {}
#: Each model class's fields that held a model or a list in any model packed so far: the
#: only ones unpacking looks at (only ever grows, replaced whole).
_NESTED: dict[type[BaseModel], frozenset[str]] = {}


def _names(cls: type[BaseModel]) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(cls.model_fields)
    return names


def _pack_value(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, BaseModel):
        return pack(value)
    if type(value) is list:
        return _Items(map(_pack_value, value)) if value else _NO_ITEMS
    raise TypeError(f"A {type(value).__name__} field cannot be packed (it is not immutable).")


def pack(model: BaseModel) -> Packed:
    """``model`` as a tuple (see the module's docstring); :func:`unpack` gives it back."""
    if model.__pydantic_extra__ or getattr(model, "__pydantic_private__", None):
        raise TypeError(f"A {type(model).__name__} with extra or private values is not packed.")
    cls, values = type(model), model.__dict__
    names = _names(cls)
    if len(values) != len(names):
        raise TypeError(f"A {cls.__name__} with other attributes is not packed.")
    packed = Packed((cls, model.__pydantic_fields_set__, *(_pack_value(values[n]) for n in names)))
    nested = {n for n, v in zip(names, packed[2:], strict=True) if type(v) in (Packed, _Items)}
    known = _NESTED.get(cls, frozenset())
    if not nested <= known:
        _NESTED[cls] = known | nested
    return packed


def unpack(packed: Packed) -> BaseModel:
    """The model ``packed`` holds (a new one each call, equal to the one packed)."""
    cls: type[BaseModel] = packed[0]
    values = dict(zip(_NAMES[cls], packed[2:], strict=True))
    for name in _NESTED.get(cls, ()):
        value = values[name]
        kind = type(value)
        if kind is Packed:
            values[name] = unpack(value)
        elif kind is _Items:
            values[name] = [unpack(v) if type(v) is Packed else v for v in value]
    model = cls.__new__(cls)
    _set_attr(model, "__dict__", values)
    # Shared by every model unpacked from this tuple, as share_equal_values shares it: the
    # models are frozen, and model_copy copies the set before adding to it.
    _set_attr(model, "__pydantic_fields_set__", packed[1])
    _set_attr(model, "__pydantic_extra__", None)
    _set_attr(model, "__pydantic_private__", None)
    return model


def unpack_as(cls: type[M], packed: Packed) -> M:
    """:func:`unpack`, checked to be a ``cls``."""
    model = unpack(packed)
    if not isinstance(model, cls):
        raise TypeError(f"Expected a packed {cls.__name__}, not a {type(model).__name__}.")
    return model


def position(cls: type[BaseModel], name: str) -> int:
    """Where field ``name`` of a packed ``cls`` is in its tuple."""
    return 2 + _names(cls).index(name)
