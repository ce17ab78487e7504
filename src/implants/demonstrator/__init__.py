"""Printable teaching demonstrators: an implant with the vertebrae it fits, on a labelled base.

:func:`implants.demonstrator.build.build_demonstrator` makes the parts (implant, vertebrae, base with
posts, pegs and an embossed label), orients each for printing, lays them out on a build plate and
:func:`implants.demonstrator.build.write_demonstrator` writes the 3MF, STLs and pictures.
NOT A MEDICAL DEVICE: the demonstrator is a teaching model.
"""

from .build import Demonstrator, Part, build_demonstrator, write_demonstrator  # noqa: F401
from .printability import printability_check  # noqa: F401
