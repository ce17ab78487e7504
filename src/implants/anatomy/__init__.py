"""Anatomy: real and synthetic vertebrae, endplates, disc spaces and the fits to them.

``implants.anatomy.load("L4")`` returns a packaged real vertebra (patient frame, mm);
``implants.anatomy.catalogue()`` lists every packaged level with its source and licence.
"""

from .packaged import LEVELS, catalogue, load

__all__ = ["LEVELS", "catalogue", "load"]
