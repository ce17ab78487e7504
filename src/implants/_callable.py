"""Subpackages that share their name with a public function of :mod:`implants`.

Importing ``implants.export.pipeline`` (or ``implants.templates.interbody_cage``) makes Python
bind the attribute ``export`` (``templates``) of the ``implants`` package to the subpackage,
hiding the function of the same name. Such a subpackage is made callable and delegates to the
function, so ``implants.export(...)`` and ``implants.templates()`` work whatever was imported.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Callable


def make_callable(module_name: str, target: Callable[[], Callable[..., Any]]) -> None:
    """Make module ``module_name`` callable; ``target()`` returns the function to call."""

    class CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return target()(*args, **kwargs)

    sys.modules[module_name].__class__ = CallableModule
