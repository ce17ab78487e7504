"""The configurator's web application (layer: serve): the page, the HTTP API under ``/api`` and
its OpenAPI description, on FastAPI.

Every answer to bad input is a 4xx JSON ``{"error": one line, "field": name or null}`` and never a
traceback: malformed JSON (400), a body over :data:`MAX_BODY_BYTES` (413), unknown or out-of-range
parameters (422, the library's :class:`~implants.errors.ParameterError` message naming the field,
value and allowed range), unknown types, presets or files (404), too many builds waiting (429).
A build that fails in the kernel or its checks is a 422 with the library's message; one that
passes the time limit is a 504. Files are served only from the server's output folder, by
design hash and a file name that the finished build listed.
"""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import CheckError, ExportError, GeometryError, ParameterError
from ..params import NOT_A_MEDICAL_DEVICE
from ..registry import get, type_ids
from ..version import __version__
from .form import field_specs
from .pool import BuildTimeout, WorkerDied
from .service import BuildRequest, BuildService, ClientGone, RangesRequest, ServerBusy

STATIC = Path(__file__).with_name("static")
VIEWER_STATIC = Path(__file__).parents[1] / "render" / "static"
#: files the page loads: name → (folder, media type)
ASSETS = {"configurator.js": (STATIC, "text/javascript"), "configurator.css": (STATIC, "text/css"),
          "api.html": (STATIC, "text/html"), "model-viewer-umd.min.js": (VIEWER_STATIC, "text/javascript"),
          "model-viewer.LICENSE": (VIEWER_STATIC, "text/plain")}
#: largest request body accepted (bytes): a full parameter set is a few kB
MAX_BODY_BYTES = 64 * 1024
KEY = re.compile(r"^[0-9a-f]{12}$")
MEDIA = {"step": "application/step", "stl": "model/stl", "3mf": "model/3mf", "glb": "model/gltf-binary",
         "json": "application/json"}


def _error(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


def _field_of(message: str, type_id: str | None) -> str | None:
    """The parameter a one-line error message starts with (``lordosis_deg = 99: ...``), if any."""
    match = re.match(r"(?:unknown parameter ')?([a-z_][a-z0-9_]*)", message)
    if match and type_id and match.group(1) in {f["name"] for f in field_specs(type_id)}:
        return match.group(1)
    return None


def create_app(output: Path, workers: int = 1, time_limit_s: float = 60.0) -> FastAPI:
    """The application writing builds under ``output`` with ``workers`` build processes."""
    service = BuildService(Path(output), workers, time_limit_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        service.start()
        try:
            yield
        finally:
            service.close()

    app = FastAPI(title="spine-implants configurator", version=__version__, lifespan=lifespan,
                  description=f"Build parametric spinal implants and download checked files. {NOT_A_MEDICAL_DEVICE}",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.service = service

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return _error(413, f"request body over {MAX_BODY_BYTES} bytes")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        if first.get("type") == "json_invalid":
            return _error(400, f"malformed JSON body: {first.get('ctx', {}).get('error', 'cannot be parsed')}")
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _error(422, f"{where or 'request'}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:  # FastAPI could not read the body (e.g. a number of 5000 digits)
            return _error(400, "malformed JSON body: it cannot be parsed")
        return _error(error.status_code, str(error.detail))

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception) -> JSONResponse:  # a bug: one line, no traceback
        return _error(500, f"internal error ({type(error).__name__}); please report it with the parameters")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in ASSETS:
            return _error(404, f"no such asset {name!r}")
        folder, media = ASSETS[name]
        return FileResponse(folder / name, media_type=media)

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse((STATIC / "api.html").read_text(encoding="utf-8"))

    @app.get("/api/types", summary="Implant types with their presets and the review's description")
    async def types() -> dict[str, Any]:
        out = []
        for type_id in type_ids():
            template = get(type_id)
            out.append({"id": type_id, "title": template.title, "review_wording": template.review_wording,
                        "description": template.description, "presets": list(template.presets),
                        "default_preset": template.default_preset})
        return {"types": out, "not_a_medical_device": NOT_A_MEDICAL_DEVICE, "version": __version__}

    @app.get("/api/types/{type_id}", summary="Form fields, presets (resolved values) and JSON Schema of a type")
    async def type_detail(type_id: str) -> Any:
        if type_id not in type_ids():
            return _error(404, f"unknown implant type {type_id!r} (allowed: {', '.join(type_ids())})")
        template = get(type_id)
        presets = {name: template.make_params(name).model_dump(mode="json") for name in template.presets}
        return {"id": type_id, "title": template.title, "review_wording": template.review_wording,
                "description": template.description, "fields": field_specs(type_id), "presets": presets,
                "default_preset": template.default_preset, "schema": template.params.model_json_schema()}

    @app.post("/api/ranges", summary="Valid range of every field given the other current values (no kernel call)")
    async def ranges(body: RangesRequest) -> Any:
        if body.type not in type_ids():
            return _error(404, f"unknown implant type {body.type!r} (allowed: {', '.join(type_ids())})")
        known = {f["name"] for f in field_specs(body.type)}
        unknown = sorted(set(body.params) - known)
        if unknown:
            return _error(422, f"unknown parameter '{unknown[0]}'", unknown[0])
        values = {**get(body.type).make_params().model_dump(mode="json"), **body.params}
        return {"type": body.type, "ranges": await service.ranges(body.type, values)}

    @app.post("/api/build", summary="Build a parameter set: manifest, checks and links to the exported files")
    async def build(body: BuildRequest, request: Request) -> Any:
        if body.type not in type_ids():
            return _error(404, f"unknown implant type {body.type!r} (allowed: {', '.join(type_ids())})")
        try:
            return await service.build(body, request.is_disconnected)
        except ParameterError as error:
            return _error(422, str(error), _field_of(str(error), body.type))
        except (GeometryError, CheckError, ExportError) as error:
            return _error(422, f"{type(error).__name__}: {error}", _field_of(str(error), body.type))
        except ServerBusy as error:
            return _error(429, str(error))
        except (BuildTimeout, WorkerDied) as error:
            return _error(504, str(error))
        except ClientGone:  # nobody reads this answer (nginx's "client closed request")
            return Response(status_code=499)

    @app.get("/api/files/{key}/{name}", summary="A file of a finished build (STEP, STL, 3MF, GLB, manifest, view)")
    async def files(key: str, name: str, download: bool = True) -> Response:
        path = service.file(key, name) if KEY.match(key) else None
        if path is None:
            return _error(404, f"no file {name!r} in build {key!r}")
        suffix = name.rsplit(".", 1)[-1]
        return FileResponse(path, media_type=MEDIA.get(suffix, "application/octet-stream"),
                            filename=name if download else None,  # named by design hash: never changes
                            headers={"Cache-Control": "public, max-age=31536000, immutable"})

    return app
