"""Wire models held by the hundred thousand, packed into bytes and unpacked on demand.

A desk holds every special scheme and protective order (100,000 of each at a big force). As
the protocol's frozen pydantic models each takes 1.4–2 KB even with its equal values shared
(:mod:`dispatchdesk.cache.compact`): an object and a sixteen-entry ``__dict__`` per model and
per nested model (a location, a person), a list per list field, an object per string, time
and number. Packed, a model is one ``bytes`` of some 300: :mod:`marshal`'s encoding of a
tuple of its class, its fields-given set, then its fields' values in declaration order (a
nested model packed the same way, a list as a list; a date or time as its own compact state,
as pickle stores it; an enum member, a time zone, a class or a fields-given set as its place
in a table of those, which only grows by the few distinct ones).

:func:`unpack` gives back a model equal to the one packed, of the same class, with the same
fields given and values of the same types (an enum member is the same member; a time zone one
of the same type that reads the same), and lists of its own: what ``model_construct`` would
build, without its per-field loop (a scheme unpacks in a few microseconds, where validating
its JSON again takes tens). Only values of the types above are packed: any other field is
refused (a test packs every field of schemes and orders). The numbers are this process's:
packed bytes are never stored or sent.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Hashable
from datetime import date, datetime
from enum import Enum
from threading import Lock
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

#: Dates and times made from their pickle state (what ``__reduce__`` gives), as pickle does.
_datetime: Callable[..., datetime] = datetime
_date: Callable[..., date] = date
#: A model made without its __init__ (as ``model_construct`` does), and BaseModel's slots.
_new: Callable[[type[BaseModel]], BaseModel] = object.__new__
_slots = BaseModel.__dict__
_set_fields_set: Callable[[BaseModel, set[str]], None] = _slots["__pydantic_fields_set__"].__set__
_set_extra: Callable[[BaseModel, None], None] = _slots["__pydantic_extra__"].__set__
_set_private: Callable[[BaseModel, None], None] = _slots["__pydantic_private__"].__set__


class Packed(bytes):
    """A packed model (see the module's docstring)."""

    __slots__ = ()


# What stands for what in the encoding, told apart by type and, for bytes, by length.
_DATE, _REF, _NAIVE, _AWARE = 4, 5, 10, 14
_MARK = b"\xff"
_PLAIN = frozenset({str, int, float, bool, type(None)})

#: The objects that packed models refer to by number: classes, fields-given sets, enum
#: members and time zones; and each one's number by a key telling it apart from any other.
_TABLE: list[Any] = []
_NUMBER: dict[Hashable, int] = {}
_TABLE_LOCK = Lock()
#: Each model class's field names, in declaration order (its ``__dict__``'s order).
_NAMES: dict[type[BaseModel], tuple[str, ...]] = {}
#: Each model class's fields (by position) that held anything but a plain value in any model
#: packed so far: the only ones unpacking looks at (only grows; replaced whole, under the
#: lock, so no packing thread's positions are lost).
_SPECIAL: dict[type[BaseModel], tuple[int, ...]] = {}


def _number(key: Hashable, obj: Any) -> int:
    n = _NUMBER.get(key)
    if n is None:
        with _TABLE_LOCK:  # packed on the cache's thread, maybe on the GUI's
            n = _NUMBER.get(key)
            if n is None:
                _TABLE.append(obj)
                n = _NUMBER[key] = len(_TABLE) - 1
    return n


def _ref(key: Hashable, obj: Any) -> bytes:
    return _MARK + _number(key, obj).to_bytes(4, "little")


def _names(cls: type[BaseModel]) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(cls.model_fields)
    return names


def _encode_value(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, Enum):  # a StrEnum member is a str too: before any str
        return _ref(("enum", kind, value.value), value)
    if kind is datetime:
        state = value.__reduce_ex__(4)[1][0]  # with the fold
        tz = value.tzinfo
        if tz is None:
            return state
        return state + _number(("tz", type(tz), repr(tz)), tz).to_bytes(4, "little")
    if kind is date:
        return value.__reduce__()[1][0]
    if isinstance(value, BaseModel):
        return _encode(value)
    if kind is list:
        return [_encode_value(v) for v in value]
    raise TypeError(f"A {kind.__name__} field cannot be packed.")


def _encode(model: BaseModel) -> tuple[Any, ...]:
    cls = type(model)
    if model.__pydantic_extra__ or getattr(model, "__pydantic_private__", None):
        raise TypeError(f"A {cls.__name__} with extra or private values is not packed.")
    values = model.__dict__
    names = _names(cls)
    if len(values) != len(names):
        raise TypeError(f"A {cls.__name__} with other attributes is not packed.")
    given = model.__pydantic_fields_set__
    fields = [_encode_value(values[n]) for n in names]
    special = {i for i, v in enumerate(fields) if type(v) not in _PLAIN}
    if not special.issubset(_SPECIAL.get(cls, ())):
        with _TABLE_LOCK:
            _SPECIAL[cls] = tuple(sorted(special.union(_SPECIAL.get(cls, ()))))
    return (
        _number(("class", cls), cls),
        _number(("given", cls, frozenset(given)), set(given)),
        *fields,
    )


def pack(model: BaseModel) -> Packed:
    """``model`` as bytes (see the module's docstring); :func:`unpack` gives it back."""
    return Packed(marshal.dumps(_encode(model)))


def _decode_value(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is bytes:
        size = len(value)
        if size == _AWARE:
            return _datetime(value[:_NAIVE], _TABLE[int.from_bytes(value[_NAIVE:], "little")])
        if size == _REF:
            return _TABLE[int.from_bytes(value[1:], "little")]
        if size == _NAIVE:
            return _datetime(value)
        return _date(value)
    if kind is tuple:
        return _decode(value)
    return [_decode_value(v) for v in value]


def _decode(encoded: tuple[Any, ...]) -> BaseModel:
    cls: type[BaseModel] = _TABLE[encoded[0]]
    model = _new(cls)
    values = list(encoded[2:])
    for i in _SPECIAL.get(cls, ()):
        value = values[i]
        if type(value) not in _PLAIN:
            values[i] = _decode_value(value)
    # The model's own (empty) __dict__ filled, and its slots set through their descriptors:
    # what object.__setattr__ does, without its look-ups by name.
    model.__dict__.update(zip(_NAMES[cls], values, strict=True))
    # Shared by every model unpacked with the same fields given, as share_equal_values shares
    # it: the models are frozen, and model_copy copies the set before adding to it.
    _set_fields_set(model, _TABLE[encoded[1]])
    _set_extra(model, None)
    _set_private(model, None)
    return model


def unpack(packed: Packed) -> BaseModel:
    """The model ``packed`` holds (a new one each call, equal to the one packed)."""
    return _decode(marshal.loads(packed))


def unpack_as(cls: type[M], packed: Packed) -> M:
    """:func:`unpack`, checked to be a ``cls``."""
    model = unpack(packed)
    if not isinstance(model, cls):
        raise TypeError(f"Expected a packed {cls.__name__}, not a {type(model).__name__}.")
    return model


def packed_class(packed: Packed) -> type[BaseModel]:
    """The class of the model ``packed`` holds."""
    cls: type[BaseModel] = _TABLE[marshal.loads(packed)[0]]
    return cls


# Reading a field without unpacking the model (a nested model's fields likewise):
# ``fields(packed)[position(cls, name)] == encoded(value)``.


def fields(packed: Packed) -> tuple[Any, ...]:
    """The encoded fields of a packed model (see :func:`position`)."""
    encoded: tuple[Any, ...] = marshal.loads(packed)
    return encoded


def position(cls: type[BaseModel], name: str) -> int:
    """Where field ``name`` of a ``cls`` is in its encoded fields."""
    return 2 + _names(cls).index(name)


def encoded(value: Any) -> Any:
    """A field's value as the encoded fields hold it."""
    return _encode_value(value)


def decoded(value: Any) -> Any:
    """A field's value from the encoded fields (the inverse of :func:`encoded`)."""
    return _decode_value(value)
