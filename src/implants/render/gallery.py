"""Static, offline gallery of every registered implant type (layer: render).

``site/index.html`` lists all types (picture, title, review wording); ``site/<type>/index.html``
shows the picture, the in-situ scene picture, an interactive 3D viewer of the GLB scene, the
review's one-paragraph description, the parameter table and downloads (STEP, STL, 3MF).

Works from ``file://`` and any static server: the viewer is Google's ``<model-viewer>`` UMD
build (a classic script, vendored in ``implants/render/static/`` from the npm registry, no
CDN) and the GLB is embedded in the page as a ``data:`` URI, so neither module scripts nor
``fetch`` of a local file are needed. Each viewer reports ``data-status`` (``loaded`` /
``error``) and ``data-variance`` (pixel variance of its rendered canvas) for the browser test.
"""

from __future__ import annotations

import base64
import html
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..params import NOT_A_MEDICAL_DEVICE
from ..pipeline import export
from ..registry import get, parameter_rows
from ..registry import type_ids as registered_type_ids
from .pictures import picture_for_manifest
from .scenes import write_scene

if TYPE_CHECKING:
    from ..model import Implant

STATIC = Path(__file__).with_name("static")
VIEWER_JS = "model-viewer-umd.min.js"
DOWNLOADS = ("step", "stl", "3mf")

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:14px 24px}header a{color:#fff}
main{padding:16px 24px;max-width:1200px}
.notice{font-size:12px;color:#6b7380;margin:8px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:16px}
.card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:10px;text-decoration:none;color:inherit}
.card img{width:100%;height:auto;border-radius:4px}
.card h2{font-size:16px;margin:8px 0 4px}.card p{font-size:13px;margin:0;color:#4a5260}
model-viewer{width:640px;height:480px;background:#eef1f5;border:1px solid #dde1e7;border-radius:6px;display:block}
.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.row img{width:400px;height:auto;border:1px solid #dde1e7;border-radius:6px}
table{border-collapse:collapse;font-size:13px;background:#fff}td,th{border:1px solid #dde1e7;padding:4px 8px;text-align:left}
"""

# Classic script: marks each viewer loaded/error and measures the variance of its canvas pixels.
PROBE_JS = """
(function(){
  var errors=[];function note(m){errors.push(String(m));document.body.setAttribute('data-console-errors',errors.length);
    document.body.setAttribute('data-last-error',String(m).slice(0,300));}
  document.body.setAttribute('data-console-errors','0');
  var origError=console.error;console.error=function(){note(Array.prototype.join.call(arguments,' '));
    return origError.apply(console,arguments);};
  window.addEventListener('error',function(e){note(e.message||'resource error');},true);
  window.addEventListener('unhandledrejection',function(e){note('unhandled rejection: '+e.reason);});
  function measure(v){
    try{
      var url=v.toDataURL('image/png');var img=new Image();
      img.onload=function(){var c=document.createElement('canvas');c.width=64;c.height=48;
        var g=c.getContext('2d');g.drawImage(img,0,0,64,48);var d=g.getImageData(0,0,64,48).data;
        var n=0,s=0,s2=0;for(var i=0;i<d.length;i+=4){var l=(d[i]+d[i+1]+d[i+2])/3;n++;s+=l;s2+=l*l;}
        var mean=s/n;v.setAttribute('data-variance',(s2/n-mean*mean).toFixed(2));
        var r=v.getBoundingClientRect();v.setAttribute('data-rect',[r.left,r.top,r.width,r.height].map(Math.round).join(','));};
      img.src=url;
    }catch(e){console.error('viewer probe failed: '+e);}
  }
  document.querySelectorAll('model-viewer').forEach(function(v){
    v.addEventListener('load',function(){v.setAttribute('data-status','loaded');
      setTimeout(function(){measure(v);},300);});
    v.addEventListener('error',function(e){v.setAttribute('data-status','error');
      console.error('model-viewer error: '+JSON.stringify(e.detail||{}));});
  });
})();
"""


@dataclass
class GalleryEntry:
    """One type's page: the files written (kind → path relative to its folder), the scene note,
    the build time (s) and the error when the build failed."""

    type_id: str
    title: str
    files: dict[str, str] = field(default_factory=dict)  # kind → relative path
    note: str = ""
    seconds: float = 0.0
    error: str = ""


def _page(title: str, body: str, depth: int) -> str:
    """A whole HTML page around ``body``; ``depth`` folders below the site root."""
    up = "../" * depth
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{html.escape(title)}</title><link rel=\"icon\" href=\"data:,\">"
            f"<style>{CSS}</style></head><body>"
            f"<header><a href=\"{up}index.html\">spine-implants gallery</a> · {html.escape(title)}</header>"
            f"<main><p class=\"notice\">{html.escape(NOT_A_MEDICAL_DEVICE)}</p>{body}</main></body></html>\n")


def _export_downloads(implant: "Implant", out_dir: Path) -> dict[str, Path]:
    """STEP, STL and 3MF of the implant, written and checked by the export pipeline."""
    result = export(implant, out_dir, formats=DOWNLOADS)
    return {ext: Path(p) for ext, p in result.paths.items() if ext in DOWNLOADS}


def _parameter_table(type_id: str) -> str:
    """The type's parameters (name, unit, default, range, description) as an HTML table."""
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r[k]) if r[k] is not None else '')}</td>"
                         for k in ("name", "unit", "default", "range", "description")) + "</tr>"
        for r in parameter_rows(type_id))
    return ("<table><thead><tr><th>name</th><th>unit</th><th>default</th><th>range</th><th>description</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def build_type_page(template, site: Path) -> GalleryEntry:
    """Build the default implant of ``template`` and write its page folder; errors are recorded, not raised."""
    start = time.perf_counter()
    entry = GalleryEntry(template.type_id, template.title)
    folder = site / template.type_id
    folder.mkdir(parents=True, exist_ok=True)
    try:
        implant = template.make(template.make_params())
        downloads = _export_downloads(implant, folder)
        picture = picture_for_manifest(implant, folder)
        scene = write_scene(implant, folder)
    except Exception as error:  # one broken type must not take the gallery down
        entry.error = f"{type(error).__name__}: {error}"
        (folder / "index.html").write_text(_page(template.title, f"<p>Build failed: {html.escape(entry.error)}</p>", 1),
                                           encoding="utf-8")
        entry.seconds = round(time.perf_counter() - start, 2)
        return entry
    entry.note = scene.note
    entry.files = {"picture": picture.name, "scene_png": scene.png.name, "scene_glb": scene.glb.name,
                   **{ext: p.name for ext, p in downloads.items()}}
    glb64 = base64.b64encode(scene.glb.read_bytes()).decode("ascii")
    links = " · ".join(f"<a href=\"{html.escape(entry.files[ext])}\" download>{ext.upper()}</a>"
                       for ext in DOWNLOADS if ext in entry.files)
    links += f" · <a href=\"{html.escape(scene.glb.name)}\" download>GLB scene</a>"
    figure = f" ({scene.figure} of the review)" if scene.figure else ""
    body = (
        f"<h1>{html.escape(template.title)} <small>({html.escape(template.type_id)})</small></h1>"
        f"<p><em>Review: {html.escape(template.review_wording)}</em></p>"
        f"<p>{html.escape(template.description)}</p>"
        f"<h2>In situ{html.escape(figure)}</h2><p class=\"notice\">{html.escape(scene.note)}"
        f". Drag to rotate, scroll to zoom.</p>"
        f"<model-viewer id=\"viewer\" src=\"data:model/gltf-binary;base64,{glb64}\" camera-controls "
        f"disable-tap interaction-prompt=\"none\" shadow-intensity=\"0.6\" exposure=\"1.0\" "
        f"camera-orbit=\"60deg 75deg auto\" alt=\"{html.escape(template.title)} in situ\"></model-viewer>"
        f"<div class=\"row\"><figure><img src=\"{html.escape(picture.name)}\" alt=\"{html.escape(template.title)}\">"
        f"<figcaption>default preset {html.escape(template.default_preset)}, contact faces orange, "
        f"screw axes red</figcaption></figure>"
        f"<figure><img src=\"{html.escape(scene.png.name)}\" alt=\"in situ\"><figcaption>in situ</figcaption>"
        f"</figure></div>"
        f"<h2>Downloads</h2><p>{links}</p>"
        f"<h2>Parameters</h2>{_parameter_table(template.type_id)}"
        f"<p>Presets: {html.escape(', '.join(template.presets))} (default {html.escape(template.default_preset)})</p>"
        f"<script>{PROBE_JS}</script><script src=\"../assets/{VIEWER_JS}\"></script>"
    )
    (folder / "index.html").write_text(_page(template.title, body, 1), encoding="utf-8")
    entry.seconds = round(time.perf_counter() - start, 2)
    return entry


def build_gallery(out: Path, type_ids: list[str] | None = None) -> list[GalleryEntry]:
    """Write the gallery into ``out`` (index + one folder per type) and return one entry per type."""
    out = Path(out)
    (out / "assets").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(STATIC / VIEWER_JS, out / "assets" / VIEWER_JS)
    licence = STATIC / "model-viewer.LICENSE"
    if licence.is_file():
        shutil.copyfile(licence, out / "assets" / "model-viewer.LICENSE")
    entries = [build_type_page(get(t), out) for t in (type_ids or registered_type_ids())]
    cards = []
    for e in entries:
        template = get(e.type_id)
        img = (f"<img src=\"{html.escape(e.type_id)}/{html.escape(e.files['picture'])}\" alt=\"{html.escape(e.title)}\">"
               if "picture" in e.files else f"<p>build failed: {html.escape(e.error)}</p>")
        cards.append(f"<a class=\"card\" href=\"{html.escape(e.type_id)}/index.html\">{img}"
                     f"<h2>{html.escape(e.title)}</h2><p>{html.escape(template.review_wording)}</p></a>")
    body = ("<h1>Patient-specific spinal implant types</h1>"
            "<p>Parametric models of the implant types described in the systematic review; "
            "click a type for its in-situ scene, 3D viewer, parameters and downloads.</p>"
            f"<div class=\"cards\">{''.join(cards)}</div>")
    (out / "index.html").write_text(_page("All implant types", body, 0), encoding="utf-8")
    (out / "gallery.json").write_text(json.dumps([e.__dict__ for e in entries], indent=2), encoding="utf-8")
    return entries


def site_size_bytes(out: Path) -> int:
    """Total size (bytes) of the files under the site folder ``out``."""
    return sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file())
