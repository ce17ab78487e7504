"""``python -m implants.cli``: the ``implants`` command line (layer: cli)."""

from . import app

app()
