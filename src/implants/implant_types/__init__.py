"""Implant types (layer: implant_types): one entry module per type of the review (SPEC.md §2), each holding
``TEMPLATE`` (parameters, presets, ``derive`` and ``build``); :mod:`implants.registry` lists them. The
larger types keep the numbers that do not depend on their parameter model in ``<type>_geometry`` and
their CadQuery parts in ``<type>_solids`` / ``<type>_bearing`` (imported only when building)."""
