"""Surveys: many images on Dask into a resumable catalogue, then a report and a vetting loop.

Modules: ``run`` (:func:`~areoscan.survey.run.survey`, what the verb and ``areoscan.survey(...)``
call), ``sources`` / ``pdsindex`` / ``listing`` (which images), ``engine`` (Dask), ``catalogue``
(SQLite), ``report`` / ``interactive`` / ``viewer`` / ``reportpage`` (publishing), ``vetting``.
This package is callable: ``areoscan.survey(source, out, ...)`` runs a survey.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    """This package, callable: ``areoscan.survey(source, out, ...)`` is :func:`areoscan.api.survey`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from areoscan.api import survey

        return survey(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
