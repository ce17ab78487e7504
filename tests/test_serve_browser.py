"""`implants serve` in headless Chromium (Playwright driving the system's Chromium): the page loads
the lumbar ALIF cage, a parameter change brings a new model on screen (the viewer's source changes
and its canvas is not blank), an out-of-range value shows the inline error while the last good model
stays, the share URL restores the state, and the downloaded STL passes `implants check`.

The server runs as a user would start it (`python -m implants.cli serve`) on a free loopback port.
End-to-end latencies (change → new model loaded in the viewer) are printed (`-s` shows them).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from typer.testing import CliRunner

from implants.cli import app as cli_app

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); "
                                                          ".ci/run installs it")
#: flags for a closed network and a root user (see tests/test_gallery.py)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--enable-unsafe-swiftshader"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    out = tmp_path_factory.mktemp("serve-out")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "implants.cli", "serve", "--port", str(port), "--out", str(out),
                                "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/types", timeout=2) as answer:
                json.load(answer)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"the server did not start: {process.stdout.read()[-2000:]}")
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


def wait_ready(page, timeout_s: float = 180) -> None:
    page.wait_for_function("document.body.dataset.state === 'ready' && "
                           "document.getElementById('viewer').hasAttribute('data-variance')", timeout=timeout_s * 1000)


def set_number(page, name: str, value: float) -> None:
    page.evaluate("""([name, value]) => {
        const input = document.querySelector('#field-' + name + ' input[type=number]');
        input.value = String(value); input.dispatchEvent(new Event('change'));
        document.getElementById('viewer').removeAttribute('data-variance');
    }""", [name, value])


def test_configurator_in_chromium(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    errors = []  # console errors, less the browser's note of the expected 422 answer to the out-of-range value
    page.on("console", lambda message: errors.append(message.text) if message.type == "error"
            and "status of 422" not in message.text else None)
    page.goto(f"{server}/?type=interbody-cage&preset=lumbar-alif")
    wait_ready(page)
    assert "NOT A MEDICAL DEVICE" in page.inner_text("#notice")
    first = page.get_attribute("#viewer", "src")
    assert float(page.get_attribute("#viewer", "data-variance")) > 50.0
    hint = page.inner_text("#field-height_mm .hint")
    assert hint.startswith("valid now: ") and "declared 4 to 20 mm" in hint

    latencies = []
    for lordosis in (14, 9.5):  # two uncached changes on a warm server
        set_number(page, "lordosis_deg", lordosis)
        page.wait_for_function("([src]) => document.body.dataset.viewSrc && document.body.dataset.viewSrc !== src "
                               "&& document.body.dataset.state === 'ready'", arg=[first], timeout=180_000)
        wait_ready(page)
        latencies.append(int(page.get_attribute("body", "data-latency-ms")))
        assert page.get_attribute("#viewer", "src") != first
        assert float(page.get_attribute("#viewer", "data-variance")) > 50.0  # the canvas is not blank
        first = page.get_attribute("#viewer", "src")
    set_number(page, "lordosis_deg", 14)  # back to a built set: served from the cache
    page.wait_for_function("([src]) => document.body.dataset.viewSrc !== src && document.body.dataset.state === 'ready'",
                           arg=[first], timeout=60_000)
    cached = int(page.get_attribute("body", "data-latency-ms"))
    print(f"\nconfigurator latency change -> on screen: uncached {latencies} ms, cached {cached} ms")
    assert "lordosis_deg=14" in page.url

    good = page.get_attribute("#viewer", "src")
    set_number(page, "lordosis_deg", 99)
    page.wait_for_function("document.body.dataset.state === 'error'", timeout=30_000)
    error = page.inner_text("#field-lordosis_deg .error")
    assert "lordosis_deg = 99" in error and "allowed 0.0 to 20.0 deg" in error
    assert page.get_attribute("#viewer", "src") == good  # the last good model stays

    with page.expect_download() as download:
        page.click("#downloads a[data-format=stl]")
    stl = tmp_path / download.value.suggested_filename
    download.value.save_as(stl)
    assert stl.suffix == ".stl" and stl.stat().st_size > 10_000
    check = CliRunner().invoke(cli_app, ["check", str(stl)])
    assert check.exit_code == 0, check.output

    shared = browser.new_page()  # the share URL restores type, preset and parameters
    shared.goto(f"{server}/?type=interbody-cage&preset=lumbar-alif&lordosis_deg=14&flange=true&screw_count=0")
    wait_ready(shared)
    assert shared.input_value("#field-lordosis_deg input[type=number]") == "14"
    assert shared.is_checked("#field-flange input[type=checkbox]")
    assert shared.get_attribute("#viewer", "src") != good  # the flange makes another design
    assert not errors, errors
