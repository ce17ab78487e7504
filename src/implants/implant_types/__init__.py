"""Implant types (layer: templates): one module per type of the review (SPEC.md §2), each holding
``TEMPLATE`` (parameters, presets, ``derive`` and ``build``); :mod:`implants.registry` lists them."""
