"""`implants serve`'s HTTP API, in process (FastAPI TestClient, one worker process): types and fields,
valid ranges that agree with the parameter validator, builds whose files are the export pipeline's
checked files, the cache, the bad-input table (status and one-line message, never a traceback),
file routes that serve nothing outside a finished build, and the worker time limit."""

from __future__ import annotations

import asyncio
import math
import re
import subprocess
import sys
import threading
import time

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from implants.cli import app as cli_app
from implants.registry import get
from implants.serve.form import RESOLUTION, field_specs, valid_ranges
from implants.serve.pool import BuildTimeout, WorkerPool

CAGE = {"type": "interbody-cage", "preset": "lumbar-alif"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from fastapi.testclient import TestClient

    from implants.serve.app import create_app

    out = tmp_path_factory.mktemp("serve-out")
    with TestClient(create_app(out, workers=1, time_limit_s=120)) as client:
        yield client, out


@pytest.fixture(scope="module")
def built(server):
    client, _ = server
    answer = client.post("/api/build", json={**CAGE, "params": {"lordosis_deg": 13}})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_help_does_not_import_the_web_stack():
    code = ("import sys; from typer.testing import CliRunner; from implants.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0 and 'serve' in r.output, r.output; "
            "assert 'fastapi' not in sys.modules and 'uvicorn' not in sys.modules and 'cadquery' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_types_and_fields(server):
    client, _ = server
    types = client.get("/api/types").json()
    assert [t["id"] for t in types["types"]][3] == "interbody-cage"
    assert "NOT A MEDICAL DEVICE" in types["not_a_medical_device"]
    detail = client.get("/api/types/interbody-cage").json()
    fields = {f["name"]: f for f in detail["fields"]}
    assert {"kind": "number", "unit": "deg", "minimum": 0.0, "maximum": 20.0}.items() <= fields["lordosis_deg"].items()
    assert fields["footprint"]["kind"] == "enum" and "kidney" in fields["footprint"]["options"]
    assert fields["flange"]["kind"] == "boolean" and fields["graft_windows"]["kind"] == "integer"
    assert fields["apex_x_mm"]["nullable"] is True
    assert detail["presets"]["lumbar-alif"]["lordosis_deg"] == get("interbody-cage").presets["lumbar-alif"]["lordosis_deg"]
    assert detail["review_wording"] and detail["description"]


@pytest.mark.parametrize("type_id", ["interbody-cage", "upper-cervical-docking"])
def test_valid_ranges_agree_with_the_validator(type_id):
    """At each reported bound the parameters pass; one resolution step outside (inside the declared
    bounds) they fail: the range is the validator's, not a guess."""
    model = get(type_id).params
    values = get(type_id).make_params().model_dump(mode="json")
    ranges = valid_ranges(type_id, values)
    checked = 0
    for spec in field_specs(type_id):
        entry = ranges[spec["name"]]
        if spec["kind"] not in ("number", "integer") or entry.get("min") is None:
            continue
        step = 1 if spec["kind"] == "integer" else 2 * RESOLUTION * (spec["maximum"] - spec["minimum"])
        for bound, outside, declared in ((entry["min"], entry["min"] - step, spec["minimum"]),
                                         (entry["max"], entry["max"] + step, spec["maximum"])):
            model.model_validate({**values, spec["name"]: bound})
            if not math.isclose(bound, declared) and not entry["split"]:
                with pytest.raises(ValidationError):
                    model.model_validate({**values, spec["name"]: outside})
                checked += 1
    assert checked >= 3  # cross-field rules narrowed some fields below their declared bounds


def test_ranges_follow_the_other_values(server):
    """Kidney footprint: width_mm >= 1.2 x depth_mm, so depth's upper bound is width / 1.2."""
    client, _ = server
    for width in (38.0, 48.0):
        answer = client.post("/api/ranges", json={"type": "interbody-cage", "params": {"width_mm": width}}).json()
        assert answer["ranges"]["depth_mm"]["max"] == pytest.approx(width / 1.2, abs=0.15)
        assert answer["ranges"]["footprint"]["valid"]["kidney"] is True


def test_build_serves_the_pipeline_files(server, built, tmp_path):
    client, out = server
    assert built["manifest"]["parameters"]["lordosis_deg"] == 13
    assert built["manifest"]["checks"]["ok"] is True
    assert set(built["files"]) == {"step", "stl", "3mf", "glb", "manifest"}
    stl = client.get(built["files"]["stl"])
    assert stl.status_code == 200 and "attachment" in stl.headers["content-disposition"]
    path = tmp_path / "cage.stl"
    path.write_bytes(stl.content)
    assert path.read_bytes() == (out / built["key"] / built["files"]["stl"].rsplit("/", 1)[-1]).read_bytes()
    check = CliRunner().invoke(cli_app, ["check", str(path)])
    assert check.exit_code == 0, check.output
    view = client.get(built["view"])
    assert view.status_code == 200 and view.content[:4] == b"glTF"


def test_repeated_parameters_come_from_the_cache(server, built):
    client, _ = server
    start = time.perf_counter()
    again = client.post("/api/build", json={**CAGE, "params": {"lordosis_deg": 13}})
    elapsed = time.perf_counter() - start
    assert again.status_code == 200 and again.json()["cached"] is True and again.json()["key"] == built["key"]
    assert elapsed < 1.0, f"cached answer took {elapsed:.3f} s"


def test_concurrent_identical_requests_share_one_build(server):
    client, _ = server
    answers = []

    def post():
        answers.append(client.post("/api/build", json={**CAGE, "params": {"lordosis_deg": 6.5}}))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.json()["key"] for a in answers}) == 1
    assert len({str(a.json()["seconds"]) for a in answers}) == 1  # one build's timings, shared


BAD_BUILDS = [
    ("{bad json", 400, r"malformed JSON body"),
    ('{"type": "interbody-cage", "params": {"lordosis_deg": ' + "9" * 5000 + "}}", 400, r"malformed JSON body"),
    ('{"type": "interbody-cage", "params": {"lordosis_deg": 99}}', 422,
     r"lordosis_deg = 99.*allowed 0\.0 to 20\.0 deg"),
    ('{"type": "interbody-cage", "params": {"lordosis_deg": 1e400}}', 422, r"lordosis_deg = inf: .*finite"),
    ('{"type": "interbody-cage", "params": {"lordosis_deg": -1e308}}', 422, r"lordosis_deg = -1e\+308"),
    ('{"type": "interbody-cage", "params": {"lordosis_deg": "steep"}}', 422, r"lordosis_deg = 'steep'"),
    ('{"type": "interbody-cage", "params": {"nope_mm": 1}}', 422, r"unknown parameter 'nope_mm'"),
    ('{"type": "interbody-cage", "colour": "red"}', 422, r"colour: Extra inputs are not permitted"),
    ('{"type": "interbody-cage", "preset": "nope"}', 422, r"preset 'nope' is not a preset"),
    ('{"type": "interbody-cage", "params": {"height_mm": 4}}', 422, r"thinnest edge \(allowed >= 3 mm\)"),
    ('{"type": "../../etc/passwd"}', 404, r"unknown implant type"),
    ("[]", 422, r"valid dictionary"),
]


@pytest.mark.parametrize("body, status, message", BAD_BUILDS)
def test_bad_input_is_a_clear_4xx(server, body, status, message):
    client, _ = server
    answer = client.post("/api/build", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert "\n" not in error and "Traceback" not in error
    assert re.search(message, error), error


def test_out_of_range_names_the_field(server):
    client, _ = server
    answer = client.post("/api/build", json={**CAGE, "params": {"lordosis_deg": 99}}).json()
    assert answer["field"] == "lordosis_deg"


def test_oversized_body_is_refused(server):
    client, _ = server
    answer = client.post("/api/build", content=b"{" + b" " * 70_000 + b"}", headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "request body over" in answer.json()["error"]


@pytest.mark.parametrize("path", ["/api/files/../../etc/passwd", "/api/files/%2e%2e/%2e%2e%2fetc%2fpasswd",
                                  "/api/files/{key}/..%2f..%2f..%2fpyproject.toml", "/api/files/{key}/build.json",
                                  "/api/files/{key}/%2Fetc%2Fpasswd", "/api/files/ABC/x.stl",
                                  "/static/..%2fapp.py", "/static/index.html"])
def test_file_routes_serve_only_listed_build_files(server, built, path):
    client, _ = server
    answer = client.get(path.format(key=built["key"]))
    assert answer.status_code == 404 and "error" in answer.json()


def test_openapi_and_page_are_offline(server):
    client, _ = server
    spec = client.get("/api/openapi.json").json()
    assert {"/api/types", "/api/types/{type_id}", "/api/ranges", "/api/build", "/api/files/{key}/{name}"} <= set(spec["paths"])
    for url in ("/", "/api/docs", "/static/configurator.js"):
        text = client.get(url).text
        assert "https://" not in text and "http://" not in text and not re.search(r"\bcdn\.", text)
    assert "NOT A MEDICAL DEVICE" in client.get("/").text
    assert client.get("/static/model-viewer-umd.min.js").status_code == 200


def test_a_hung_build_is_stopped_and_the_worker_replaced():
    async def scenario():
        pool = WorkerPool(1, time_limit_s=1.0)
        pool.start()
        try:
            start = time.perf_counter()
            with pytest.raises(BuildTimeout, match="time limit of 1 s"):
                await pool.run(time.sleep, 30)
            stopped = time.perf_counter() - start
            pool.time_limit_s = 60.0  # the replacement worker may take a moment to start on a busy machine
            assert await pool.run(math.sqrt, 16.0) == 4.0  # the replacement worker answers
            return stopped, pool.restarts
        finally:
            pool.close()

    stopped, restarts = asyncio.run(scenario())
    assert stopped < 5.0 and restarts == 1
