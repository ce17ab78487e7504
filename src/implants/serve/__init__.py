"""The local web configurator behind ``implants serve`` (layer: serve, an entry point beside cli).

``app`` is the FastAPI application (page, ``/api`` routes, OpenAPI); ``form`` turns a type's
parameter model into form fields and finds each field's valid range with the validator alone;
``pool`` runs builds in worker processes with a time limit; ``builds`` is the build run inside a
worker (export pipeline + viewer GLB); ``display`` draws the viewer's GLB. Nothing here models
geometry: the library below does, and this layer only translates its errors to HTTP statuses.
"""
