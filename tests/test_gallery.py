"""The offline gallery in headless Chromium: no console errors, every viewer draws a non-blank canvas.

Chromium runs with a fresh profile (``--headless --no-sandbox --disable-gpu``) on ``file://`` pages.
Each type page is loaded twice: ``--dump-dom`` reads what the page's probe recorded (viewer
``data-status``, ``data-variance`` of its canvas pixels, ``data-rect``, ``data-console-errors``)
and ``--screenshot`` saves a picture whose viewer region must not be blank. Console output is
also read from Chromium's log (``CONSOLE`` lines). Screenshots stay in the test's tmp dir.
"""

from __future__ import annotations

import json
import os
import re
import signal
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from implants.registry import type_ids

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); "
                                                          ".ci/run installs it")
WINDOW = (1200, 1000)
#: notices that are not page errors: software-GL performance hints from the driver, and model-viewer's
#: console.warn when headless virtual time delays requestAnimationFrame (console.error is caught in-page).
BENIGN = ("GL Driver Message", "GPU stall due to ReadPixels", "rAF timed out in updateSource")


def chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--no-first-run", "--enable-unsafe-swiftshader", f"--user-data-dir={profile}", "--enable-logging=stderr",
            "--v=0", f"--window-size={WINDOW[0]},{WINDOW[1]}", "--hide-scrollbars", "--virtual-time-budget=12000",
            *extra, url]
    for attempt in (1, 2):  # one retry: headless Chromium can stall on a heavily loaded machine
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=120 * attempt)
            return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # Chromium and its child processes
            process.communicate()
    raise AssertionError(f"Chromium did not finish on {url} (twice)")


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line and not any(b in line for b in BENIGN)]


def attribute(html: str, tag_pattern: str, name: str) -> str | None:
    tag = re.search(tag_pattern, html, re.S)
    if tag is None:
        return None
    value = re.search(rf'\s{name}="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def check_page(site: Path, type_id: str, shots: Path, profile: Path) -> dict:
    url = (site / type_id / "index.html").resolve().as_uri()
    dom = chromium(url, profile / f"{type_id}-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    viewer = r"<model-viewer\b[^>]*>"
    status = attribute(dom.stdout, viewer, "data-status")
    variance = attribute(dom.stdout, viewer, "data-variance")
    rect = attribute(dom.stdout, viewer, "data-rect")
    errors = attribute(dom.stdout, r"<body\b[^>]*>", "data-console-errors")
    last = attribute(dom.stdout, r"<body\b[^>]*>", "data-last-error")
    shot = shots / f"{type_id}.png"
    run = chromium(url, profile / f"{type_id}-shot", f"--screenshot={shot}")
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    return {"status": status, "variance": float(variance or 0), "rect": rect, "errors": errors, "last": last,
            "console": console_lines(dom.stderr) + console_lines(run.stderr), "shot": shot}


def region_std(shot: Path, rect: str) -> float:
    from implants.render.pictures import png_pixels

    pixels = png_pixels(shot)[..., :3].astype(float)
    x, y, w, h = (int(v) for v in rect.split(","))
    region = pixels[y + 10:min(y + h, pixels.shape[0]) - 10, x + 10:x + w - 10]
    assert region.size, f"viewer rectangle {rect} outside the screenshot {pixels.shape}"
    return float(region.mean(axis=2).std())


def assert_page_ok(result: dict, type_id: str) -> None:
    assert result["status"] == "loaded", f"{type_id}: viewer status {result['status']!r}"
    assert result["errors"] == "0", f"{type_id}: page console errors: {result['last']}"
    assert not result["console"], f"{type_id}: console output {result['console']}"
    assert result["variance"] > 50.0, f"{type_id}: viewer canvas blank (variance {result['variance']})"
    assert result["rect"], f"{type_id}: viewer not measured"
    assert region_std(result["shot"], result["rect"]) > 5.0, f"{type_id}: viewer region of {result['shot']} is blank"


@pytest.fixture(scope="module")
def cage_site(tmp_path_factory):
    from implants.render.gallery import build_gallery

    site = tmp_path_factory.mktemp("site")
    entries = build_gallery(site, ["interbody-cage"])
    assert not entries[0].error
    return site


def test_gallery_files_offline(cage_site):
    index = (cage_site / "index.html").read_text(encoding="utf-8")
    page = (cage_site / "interbody-cage" / "index.html").read_text(encoding="utf-8")
    assert "interbody-cage/index.html" in index and "Not a medical device".lower() in index.lower()
    files = json.loads((cage_site / "gallery.json").read_text())[0]["files"]
    for ext in ("step", "stl", "3mf"):
        assert (cage_site / "interbody-cage" / files[ext]).stat().st_size > 1000
        assert f'href="{files[ext]}"' in page
    assert 'src="data:model/gltf-binary;base64,' in page  # no fetch of local files
    assert "http://" not in page and "https://" not in page  # no CDN
    assert 'type="module"' not in page
    js = cage_site / "assets" / "model-viewer-umd.min.js"
    assert 100_000 < js.stat().st_size < 2_000_000
    assert "lordosis_deg" in page and "<td>deg</td>" in page  # parameter table with units


def test_cage_page_in_chromium(cage_site, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    result = check_page(cage_site, "interbody-cage", shots, tmp_path)
    assert_page_ok(result, "interbody-cage")
    index = chromium((cage_site / "index.html").resolve().as_uri(), tmp_path / "index",
                     f"--screenshot={shots / 'index.png'}")
    assert index.returncode == 0 and not console_lines(index.stderr)


@pytest.mark.slow
def test_every_type_in_chromium(tmp_path):
    """The whole gallery: every registered type's page loads with a drawn viewer and no console errors."""
    from implants.render.gallery import build_gallery

    site = tmp_path / "site"
    entries = build_gallery(site)
    assert [e.type_id for e in entries] == type_ids()
    failures = [f"{e.type_id}: build failed: {e.error}" for e in entries if e.error]
    shots = tmp_path / "screenshots"
    shots.mkdir()
    for type_id in [e.type_id for e in entries if not e.error]:
        try:
            assert_page_ok(check_page(site, type_id, shots, tmp_path), type_id)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, failures
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    print(f"gallery {size / 1e6:.1f} MB, screenshots in {shots}")
