"""Wire models held in numbers, made smaller in place.

(Special schemes and protective orders, 100,000 of each at a big force, are held packed
instead: :mod:`dispatchdesk.cache.packed`. This serves the cached models a desk still holds
as models, such as units and notices.) Each model and each model nested in it carries its
own set of the fields that were given (``__pydantic_fields_set__``: some 700 bytes for a
scheme's sixteen fields), and each parsed document its own copy of every string and time,
though most repeat (postcodes, towns, officers, standard wording, start dates).
:func:`share_equal_values` makes models with the same fields given share one such set, and
equal strings and times one object.

Nothing a reader can tell changes: the values are equal and of the same type (a plain string
only, never an enum member, which equals the string of its value; a time only with one of the
same offset), the models are frozen (so nothing adds to a shared set: pydantic's
``model_copy`` copies the set before updating it), and equality, hashing and serialisation
read the same values. Measured on the 100,000 + 100,000 of ``tests/bench/bench_memory.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel


def share_equal_values(models: Iterable[BaseModel], values: dict[Any, Any] | None = None) -> None:
    """Make ``models`` (and the models in their fields) share their fields-given sets, and
    equal strings and times, with one another (and with ``values``, a pool to pass to the
    next call when models of another kind repeat the same values)."""
    pool: dict[Any, Any] = {} if values is None else values
    for model in models:
        _share(model, pool)


def _share(model: BaseModel, pool: dict[Any, Any]) -> None:
    given = model.__pydantic_fields_set__
    key = ("fields", type(model), frozenset(given))
    shared = pool.get(key)
    if shared is None:
        pool[key] = given
    elif shared is not given:
        object.__setattr__(model, "__pydantic_fields_set__", shared)
    fields = model.__dict__
    for name, value in fields.items():
        kind = type(value)
        if kind is str:  # not a subclass: an enum member equal to another's value stays
            held = pool.setdefault(value, value)
        elif kind is datetime or kind is date:  # a time: the same instant and offset only
            held = pool.setdefault((kind, value, getattr(value, "tzinfo", None)), value)
        elif isinstance(value, BaseModel):
            _share(value, pool)
            continue
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    _share(item, pool)
            continue
        else:
            continue
        if held is not value:
            fields[name] = held
