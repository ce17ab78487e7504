"""One module per implant type (SPEC.md §2), each holding ``TEMPLATE``; see :mod:`implants.registry`.

``implants.templates()`` lists the registered templates; this package is callable for that
reason (see :mod:`implants._callable`).
"""

from __future__ import annotations

from .._callable import make_callable


def _registry_templates():
    from ..registry import templates

    return templates


make_callable(__name__, _registry_templates)
