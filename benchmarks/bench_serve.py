"""`implants serve` latencies on the lumbar ALIF cage, warm server (one worker already built once):
HTTP round trip of /api/build for new and for cached parameter sets, /api/ranges, and, when Chromium
and Playwright are installed, the page's own measure from a parameter change to the new model loaded
in the viewer (uncached; a set built before; a set the page has not shown but the server has cached).
The 1-minute load average is recorded beside the figures: on a shared machine it explains a lot."""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

CAGE = {"type": "interbody-cage", "preset": "lumbar-alif"}


def _post(url: str, body: dict) -> tuple[float, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as answer:
        data = json.load(answer)
    return (time.perf_counter() - start) * 1000, data


def _start(out: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "implants.cli", "serve", "--port", str(port), "--out", out],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{url}/api/types", timeout=2).close()
            return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the server did not start")


def _browser(url: str) -> dict:
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if chromium is None:
        return {}
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             "--enable-unsafe-swiftshader"]
    ready = "document.body.dataset.state === 'ready' && document.body.dataset.viewSrc !== arguments[0]"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=flags)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/?type=interbody-cage&preset=lumbar-alif")
        page.wait_for_function("document.body.dataset.state === 'ready'", timeout=300_000)

        def change(value: float) -> int:
            source = page.get_attribute("body", "data-view-src")
            page.evaluate("""(v) => { const i = document.querySelector('#field-lordosis_deg input[type=number]');
                          i.value = String(v); i.dispatchEvent(new Event('change')); }""", value)
            page.wait_for_function(f"(src) => {ready.replace('arguments[0]', 'src')}", arg=source, timeout=300_000)
            return int(page.get_attribute("body", "data-latency-ms"))

        uncached = [change(v) for v in (15.5, 16.5, 17.5, 18.5)]
        seen = [change(v) for v in (15.5, 16.5)]
        server_cached = [change(v) for v in (5.0, 6.0)]  # built over HTTP above, not yet shown in this page
        browser.close()
    return {"uncached_ms": uncached, "seen_in_page_ms": seen, "server_cached_ms": server_cached}


def run() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as out:
        process, url = _start(out)
        try:
            _post(f"{url}/api/build", {**CAGE, "params": {"lordosis_deg": 11.5}})  # warm the worker
            uncached, stages = [], []
            for lordosis in (5.0, 6.0, 7.0, 8.5, 9.5):
                ms, data = _post(f"{url}/api/build", {**CAGE, "params": {"lordosis_deg": lordosis}})
                uncached.append(ms)
                stages.append(data["seconds"])
            cached = [_post(f"{url}/api/build", {**CAGE, "params": {"lordosis_deg": v}})[0] for v in (5.0, 6.0, 7.0) * 3]
            ranges = [_post(f"{url}/api/ranges", {"type": "interbody-cage", "params": {"lordosis_deg": v}})[0]
                      for v in (4.0, 4.5, 5.5)]
            load = round(os.getloadavg()[0], 2)
            rows.append({"benchmark": "serve", "case": "POST /api/build, new lumbar-alif set (warm)",
                         "median_ms": round(statistics.median(uncached)), "max_ms": round(max(uncached)),
                         "build_s": statistics.median(s["build"] for s in stages),
                         "export_s": statistics.median(s["export"] for s in stages),
                         "view_s": statistics.median(s["view"] for s in stages), "load_1min": load})
            rows.append({"benchmark": "serve", "case": "POST /api/build, cached set",
                         "median_ms": round(statistics.median(cached), 1), "max_ms": round(max(cached), 1)})
            rows.append({"benchmark": "serve", "case": "POST /api/ranges (all fields, validator only)",
                         "median_ms": round(statistics.median(ranges)), "max_ms": round(max(ranges))})
            page = _browser(url)
            if page:
                rows.append({"benchmark": "serve", "case": "page: change -> new model on screen (Chromium)",
                             **{k: v for k, v in page.items()}, "load_1min": round(os.getloadavg()[0], 2)})
        finally:
            process.terminate()
            process.wait(timeout=30)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
