"""``implants serve`` (layer: cli): the local web configurator (:mod:`implants.serve`).

The web stack (FastAPI, uvicorn) and the CAD kernel are imported inside the verb, so that
``implants --help`` loads neither. The server binds to 127.0.0.1 unless another host is asked for.
"""

from __future__ import annotations

import os
import threading
import webbrowser
from pathlib import Path

import typer

from ..errors import ParameterError
from .output import console, to_stderr


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8000, "--port", help="TCP port (1-65535)."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in the default browser."),
    out: Path = typer.Option(Path("serve-out"), "--out", "-o", help="The server's output folder (builds and files)."),
    workers: int = typer.Option(min(2, os.cpu_count() or 1), "--workers", help="Build worker processes (1-16)."),
    time_limit: float = typer.Option(60.0, "--time-limit", help="Longest build (s) before its worker is stopped."),
) -> None:
    """Serve the interactive configurator: pick a type and preset, move sliders, see the model, download the files."""
    if not 1 <= port <= 65535:
        raise ParameterError(f"--port {port}: allowed 1 to 65535")
    if not 1 <= workers <= 16:
        raise ParameterError(f"--workers {workers}: allowed 1 to 16")
    if not time_limit > 0:
        raise ParameterError(f"--time-limit {time_limit}: must be > 0 s")
    import uvicorn

    from ..serve.app import create_app

    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    if host in ("127.0.0.1", "localhost", "::1"):
        console.print(f"Serving the configurator on {url} (this machine only; --host to share it). Ctrl-C stops.")
    else:
        to_stderr(f"warning: serving on {host}, reachable from other machines; the server has no authentication")
        console.print(f"Serving the configurator on {url}. Ctrl-C stops.")
    console.print(f"Files are written under {out.resolve()}. Not a medical device.")
    if open_browser:  # once the server listens
        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    uvicorn.run(create_app(out, workers=workers, time_limit_s=time_limit), host=host, port=port, log_level="warning")
