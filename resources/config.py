"""Turning a configuration resource into the plain settings object the business rules take."""

from dataclasses import fields
from typing import TypeVar

T = TypeVar("T")


def settings_from(resource: object, settings_cls: type[T]) -> T:
    """``settings_cls`` filled from the same-named fields of ``resource`` (each must exist)."""
    return settings_cls(**{f.name: getattr(resource, f.name) for f in fields(settings_cls)})
