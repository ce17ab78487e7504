"""Checks (layer: checks) of meshes and STEP files: the one mesh-file reader, closed manifold,
volume, bodies, STEP re-read, footprint and contact area against an endplate
(``implants.check`` delegates to :func:`implants.checks.report.check_file`)."""
