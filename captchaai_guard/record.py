"""``typing.NamedTuple`` for the scan path, without importing :mod:`typing`.

Type checkers see :class:`typing.NamedTuple` itself. At run time a class
written ``class Point(NamedTuple): x: int; y: int = 0`` becomes a subclass
of ``collections.namedtuple("Point", ["x", "y"], defaults=[0])`` with the
class body's methods and docstring: the same tuple, built without the
:mod:`typing` module (several milliseconds of a scan's start-up).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    from collections import namedtuple

    class _RecordType(type):
        def __new__(mcls, name, bases, namespace):
            if not bases:  # NamedTuple itself
                return super().__new__(mcls, name, bases, namespace)
            fields = list(namespace.get("__annotations__", {}))
            defaults = [namespace[field] for field in fields if field in namespace]
            base = namedtuple(name, fields, defaults=defaults, module=namespace.get("__module__"))
            body = {key: value for key, value in namespace.items() if key not in fields}
            body["__slots__"] = ()
            return type(name, (base,), body)

    class NamedTuple(metaclass=_RecordType):
        pass
