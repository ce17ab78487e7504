/* The implants configurator page (served by `implants serve`; no framework, no CDN).
 *
 * The form is generated from the type's fields (/api/types/{type}); after each change the page asks
 * /api/ranges for the range of every field that is valid given the others (sliders are limited to it)
 * and, debounced, /api/build for the model. A newer change aborts the older request; a refused or
 * failed build shows its one-line error beside the field and the last good model stays on screen.
 * The URL (?type=&preset=&field=value...) restores the design. State for tests is mirrored on <body>:
 * data-state (building/ready/error), data-latency-ms, data-view-src; the viewer gets data-status and
 * data-variance (pixel variance of its canvas) after each load.
 */
(function () {
  "use strict";
  var DEBOUNCE_MS = 150;
  var state = {type: null, preset: null, info: null, values: {}, ranges: {}, seq: 0, controller: null,
               changed: null, changeTime: 0, lastGood: null, seen: {}};
  var $ = function (id) { return document.getElementById(id); };
  var viewer = $("viewer");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function setBody(key, value) { document.body.setAttribute("data-" + key, String(value)); }
  function fmt(value, digits) {
    return (typeof value === "number") ? String(Number(value.toFixed(digits === undefined ? 3 : digits))) : String(value);
  }
  function getJSON(url) {
    return fetch(url).then(function (r) { return r.json().then(function (d) { if (!r.ok) { throw d; } return d; }); });
  }
  function postJSON(url, body, signal) {
    return fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
                       signal: signal}).then(function (r) { return r.json().then(function (d) { return {ok: r.ok, status: r.status, data: d}; }); });
  }

  /* ---------------------------------------------------------------- URL <-> state */
  function encodeValue(value) { return (typeof value === "string") ? value : JSON.stringify(value); }
  function decodeValue(spec, text) {
    if (spec.kind === "enum") { return text === "null" ? null : text; }
    try { return JSON.parse(text); } catch (e) { return text; }
  }
  function writeURL() {
    var query = new URLSearchParams();
    query.set("type", state.type);
    query.set("preset", state.preset);
    var base = state.info.presets[state.preset];
    state.info.fields.forEach(function (f) {
      if (JSON.stringify(state.values[f.name]) !== JSON.stringify(base[f.name])) { query.set(f.name, encodeValue(state.values[f.name])); }
    });
    var url = location.pathname + "?" + query.toString();
    history.replaceState(null, "", url);
    $("share").href = url;
    $("share").textContent = location.origin + url;
  }

  /* ---------------------------------------------------------------- the form */
  function stepOf(spec) {
    if (spec.kind === "integer") { return 1; }
    var span = spec.maximum - spec.minimum;
    return Math.pow(10, Math.floor(Math.log10(span / 100)));
  }
  function fieldRow(spec) {
    var row = el("div", {"class": "field", "data-name": spec.name, "id": "field-" + spec.name});
    var head = el("div", {"class": "head"});
    var label = el("span", {"class": "name"}, spec.name);
    if (spec.unit) { label.appendChild(el("span", {"class": "unit"}, " (" + spec.unit + ")")); }
    head.appendChild(label);
    row.appendChild(head);
    var inputs = el("div", {"class": "inputs"});
    var value = state.values[spec.name];
    if (spec.kind === "number" || spec.kind === "integer") {
      var slider = el("input", {type: "range", min: spec.minimum, max: spec.maximum, step: stepOf(spec), "aria-label": spec.name});
      var number = el("input", {type: "number", step: "any", "aria-label": spec.name + " value", name: spec.name});
      slider.value = value === null ? (spec.minimum + spec.maximum) / 2 : value;
      number.value = value === null ? "" : value;
      slider.addEventListener("input", function () { number.value = slider.value; setValue(spec.name, Number(slider.value)); });
      number.addEventListener("change", function () {
        var text = number.value.trim();
        setValue(spec.name, text === "" ? (spec.nullable ? null : text) : Number(text));
      });
      inputs.appendChild(slider);
      inputs.appendChild(number);
      if (spec.nullable) {
        var auto = el("label", {"class": "auto"});
        var box = el("input", {type: "checkbox", "class": "auto-box"});
        box.checked = value === null;
        slider.disabled = number.disabled = box.checked;
        box.addEventListener("change", function () {
          slider.disabled = number.disabled = box.checked;
          var r = state.ranges[spec.name] || {};
          var start = r.min !== null && r.min !== undefined ? (r.min + r.max) / 2 : (spec.minimum + spec.maximum) / 2;
          start = Number(start.toFixed(3));
          if (!box.checked) { slider.value = number.value = start; }
          setValue(spec.name, box.checked ? null : start);
        });
        auto.appendChild(box);
        auto.appendChild(document.createTextNode(" auto"));
        inputs.appendChild(auto);
      }
    } else if (spec.kind === "enum") {
      var select = el("select", {name: spec.name, "aria-label": spec.name});
      if (spec.nullable) { select.appendChild(el("option", {value: "null"}, "(auto)")); }
      spec.options.forEach(function (o) { select.appendChild(el("option", {value: o}, o)); });
      select.value = value === null ? "null" : value;
      select.addEventListener("change", function () { setValue(spec.name, select.value === "null" ? null : select.value); });
      inputs.appendChild(select);
    } else if (spec.kind === "boolean") {
      var wrap = el("label", {"class": "switch-label"});
      var check = el("input", {type: "checkbox", name: spec.name, "aria-label": spec.name});
      check.checked = !!value;
      check.addEventListener("change", function () { setValue(spec.name, check.checked); });
      wrap.appendChild(check);
      wrap.appendChild(el("span", {"class": "switch"}));
      wrap.appendChild(document.createTextNode(check.checked ? " on" : " off"));
      check.addEventListener("change", function () { wrap.lastChild.textContent = check.checked ? " on" : " off"; });
      inputs.appendChild(wrap);
    } else {
      var text = el("input", {type: "text", name: spec.name, "aria-label": spec.name});
      text.value = JSON.stringify(value);
      text.addEventListener("change", function () {
        try { setValue(spec.name, JSON.parse(text.value)); } catch (e) { showError(spec.name, spec.name + ": not valid JSON"); }
      });
      inputs.appendChild(text);
    }
    row.appendChild(inputs);
    row.appendChild(el("div", {"class": "hint"}));
    row.appendChild(el("div", {"class": "desc"}, spec.description));
    row.appendChild(el("div", {"class": "error", role: "alert"}));
    return row;
  }
  function renderForm() {
    var form = $("form");
    form.textContent = "";
    state.info.fields.forEach(function (spec) { form.appendChild(fieldRow(spec)); });
  }
  function touch(name) {
    state.changed = name;
    state.changeTime = performance.now();
    schedule();
  }
  function setValue(name, value) {
    state.values[name] = value;
    touch(name);
  }

  /* ---------------------------------------------------------------- valid ranges */
  function applyRanges(ranges) {
    state.ranges = ranges;
    state.info.fields.forEach(function (spec) {
      var r = ranges[spec.name] || {}, row = $("field-" + spec.name), hint = row.querySelector(".hint");
      var value = state.values[spec.name], out = false;
      if (spec.kind === "number" || spec.kind === "integer") {
        var unit = spec.unit ? " " + spec.unit : "";
        var declared = "declared " + fmt(spec.minimum) + " to " + fmt(spec.maximum) + unit;
        if (value === null && r.null_valid) {
          hint.textContent = "auto (template rule); valid if set: " + (r.min === null ? "none" : fmt(r.min) + " to " + fmt(r.max) + unit);
        } else if (r.min === null || r.min === undefined) {
          hint.textContent = (blocker(spec.name) ? "no valid value while " + blocker(spec.name) + " is refused"
                              : "no valid value with the other current values") + " (" + declared + ")";
          out = true;
        } else {
          hint.textContent = "valid now: " + fmt(r.min) + " to " + fmt(r.max) + unit + (r.split ? " (and other values outside)" : "") +
                             " · " + declared;
          var slider = row.querySelector("input[type=range]");
          slider.min = r.min;
          slider.max = r.max;
          if (typeof value === "number") { slider.value = value; }
          out = value !== null && !r.current_valid;
        }
      } else if (r.valid) {
        var refused = Object.keys(r.valid).filter(function (k) { return !r.valid[k]; });
        var none = refused.length === Object.keys(r.valid).length;
        hint.textContent = none && blocker(spec.name) ? "no choice passes while " + blocker(spec.name) + " is refused"
                         : refused.length ? "refused with the other current values: " + refused.join(", ") : "";
        row.querySelectorAll("option").forEach(function (o) { o.disabled = r.valid[o.value] === false && o.value !== String(value); });
        out = r.valid[String(value)] === false;
      }
      row.classList.toggle("out", out);
    });
  }
  function blocker(name) {  /* the field whose refused value blocks every value of the others */
    return state.errorField && state.errorField !== name ? state.errorField : null;
  }
  function requestRanges(seq) {
    postJSON("/api/ranges", {type: state.type, params: state.values}).then(function (answer) {
      if (seq === state.seq && answer.ok) { applyRanges(answer.data.ranges); }
    }).catch(function () { /* a newer change asks again */ });
  }

  /* ---------------------------------------------------------------- builds */
  function clearErrors() {
    state.errorField = null;
    document.querySelectorAll(".field.has-error").forEach(function (row) {
      row.classList.remove("has-error");
      row.querySelector(".error").textContent = "";
    });
  }
  function showError(field, message) {
    clearErrors();
    state.errorField = field;
    if (state.ranges) { applyRanges(state.ranges); }
    var row = field && $("field-" + field);
    if (row) {
      row.classList.add("has-error");
      row.querySelector(".error").textContent = message;
    }
    var status = $("status");
    status.className = "status error";
    status.textContent = "Not built: " + message + (state.lastGood ? " (the last good model stays on screen)" : "");
    setBody("state", "error");
  }
  function signature() {
    return JSON.stringify([state.type, state.preset, state.values, $("insitu").checked]);
  }
  function schedule() {
    clearTimeout(state.timer);
    var known = state.seen[signature()];
    if (known) {  // a design built before in this page: shown at once, its files are in the browser's cache
      var seq = ++state.seq;
      if (state.controller) { state.controller.abort(); }
      writeURL();
      requestRanges(seq);
      clearErrors();
      show(known, seq);
      return;
    }
    state.timer = setTimeout(run, DEBOUNCE_MS);
  }
  function run() {
    var seq = ++state.seq;
    if (state.controller) { state.controller.abort(); }
    state.controller = new AbortController();
    writeURL();
    requestRanges(seq);
    setBody("state", "building");
    $("status").className = "status";
    $("status").textContent = "building…";
    var body = {type: state.type, preset: state.preset, params: state.values, in_situ: $("insitu").checked};
    var sent = signature();
    postJSON("/api/build", body, state.controller.signal).then(function (answer) {
      if (seq !== state.seq) { return; }
      if (!answer.ok) { showError(answer.data.field || state.changed, answer.data.error || ("HTTP " + answer.status)); return; }
      clearErrors();
      state.seen[sent] = answer.data;
      show(answer.data, seq);
    }).catch(function (error) {
      if (error.name !== "AbortError" && seq === state.seq) { showError(state.changed, "the server did not answer (" + error + ")"); }
    });
  }
  function show(result, seq) {
    state.lastGood = result;
    var server = result.cached ? "cached, " + result.server_ms + " ms on the server"
                               : "built in " + result.server_ms + " ms on the server";
    viewer.setAttribute("data-status", "loading");
    var done = function () {
      if (seq !== state.seq) { return; }
      var latency = Math.round(performance.now() - state.changeTime);
      setBody("latency-ms", latency);
      setBody("view-src", result.view);
      setBody("state", "ready");
      $("status").textContent = "On screen " + latency + " ms after the change (" + server + "). Design " + result.key + ".";
    };
    if (viewer.getAttribute("src") === result.view) { done(); } else {
      viewer.addEventListener("load", function once() { viewer.removeEventListener("load", once); done(); });
      viewer.setAttribute("src", result.view);
    }
    fillTables(result);
  }
  function row(table, cells, classes) {
    var tr = el("tr");
    cells.forEach(function (c, i) { tr.appendChild(el("td", classes && classes[i] ? {"class": classes[i]} : {}, c)); });
    table.appendChild(tr);
  }
  function fillTables(result) {
    var m = result.manifest, mass = $("mass"), checks = $("checks");
    mass.textContent = ""; checks.textContent = "";
    row(mass, ["volume", fmt(m.volume_mm3, 1) + " mm³"], [null, "num"]);
    Object.keys(m.mass_g).forEach(function (material) {
      row(mass, ["mass, " + (material === "ti6al4v" ? "Ti-6Al-4V" : "PEEK") + (material === m.material ? " (chosen)" : ""),
                 fmt(m.mass_g[material], 2) + " g"], [null, "num"]);
    });
    row(mass, ["bodies", m.bodies], [null, "num"]);
    var c = m.checks, pass = function (ok) { return ok ? "pass" : "FAIL"; };
    row(checks, ["all required checks", pass(c.ok)], [null, c.ok ? "pass" : "fail"]);
    [["watertight", c.mesh.watertight], ["winding consistent", c.mesh.winding_consistent], ["manifold (manifold3d)", c.mesh.manifold],
     ["bodies " + c.mesh.bodies + " of " + c.mesh.expected_bodies, c.mesh.bodies_ok],
     ["mesh volume vs B-rep (" + fmt(100 * c.volume.volume_difference_rel, 2) + " %)", c.volume.ok]].forEach(function (r) {
      row(checks, [r[0], pass(r[1])], [null, r[1] ? "pass" : "fail"]);
    });
    if (c.step) { row(checks, ["STEP re-read", pass(c.step.ok)], [null, c.step.ok ? "pass" : "fail"]); }
    Object.keys(c.footprint || {}).forEach(function (name) { row(checks, ["footprint " + name, fmt(c.footprint[name].area_mm2, 1) + " mm²"], [null, "num"]); });
    var angle = (m.metrics || {}).segmental_angle_deg;
    if (angle) { row(checks, ["segmental angle (sagittal, measured)", fmt(angle.sagittal_measured, 2) + "°"], [null, "num"]); }
    var links = $("downloads");
    links.textContent = "";
    ["step", "stl", "3mf", "glb", "manifest"].forEach(function (fmtName) {
      if (result.files[fmtName]) { links.appendChild(el("a", {href: result.files[fmtName], download: "", "data-format": fmtName}, fmtName.toUpperCase())); }
    });
    var situ = $("situ");
    situ.textContent = "";
    if (result.in_situ) {
      var text = result.in_situ.note + (result.in_situ.figure ? " (" + result.in_situ.figure + " of the review)" : "") + ". ";
      text += result.in_situ.contact.map(function (c) {
        return c.bone + ": contact " + fmt(c.contact_area_mm2, 1) + " mm², penetration " +
               (c.max_penetration_mm === null ? "n/a" : fmt(c.max_penetration_mm, 2) + " mm");
      }).join("; ");
      situ.appendChild(el("p", {"class": "status"}, "In situ: " + text));
    }
  }

  /* ---------------------------------------------------------------- viewer probe */
  viewer.addEventListener("load", function () {
    viewer.setAttribute("data-status", "loaded");
    setTimeout(function () {
      try {
        var img = new Image();
        img.onload = function () {
          var c = document.createElement("canvas"); c.width = 64; c.height = 48;
          var g = c.getContext("2d"); g.drawImage(img, 0, 0, 64, 48);
          var d = g.getImageData(0, 0, 64, 48).data, n = 0, s = 0, s2 = 0;
          for (var i = 0; i < d.length; i += 4) { var l = (d[i] + d[i + 1] + d[i + 2]) / 3; n++; s += l; s2 += l * l; }
          viewer.setAttribute("data-variance", (s2 / n - (s / n) * (s / n)).toFixed(2));
        };
        img.src = viewer.toDataURL("image/png");
      } catch (e) { viewer.setAttribute("data-variance", "-1"); }
    }, 300);
  });
  viewer.addEventListener("error", function () { viewer.setAttribute("data-status", "error"); });

  /* ---------------------------------------------------------------- type and preset */
  function loadType(type, preset, overrides) {
    return getJSON("/api/types/" + encodeURIComponent(type)).then(function (info) {
      state.type = type;
      state.info = info;
      state.preset = info.presets[preset] ? preset : info.default_preset;
      $("type").value = type;
      var presets = $("preset");
      presets.textContent = "";
      Object.keys(info.presets).forEach(function (p) { presets.appendChild(el("option", {value: p}, p)); });
      presets.value = state.preset;
      $("title").textContent = info.title + " (" + info.id + ")";
      $("wording").textContent = "Review: " + info.review_wording;
      $("description").textContent = info.description;
      state.values = Object.assign({}, info.presets[state.preset], overrides || {});
      renderForm();
      state.changed = null;
      state.changeTime = performance.now();
      run();
    });
  }
  function start() {
    getJSON("/api/types").then(function (data) {
      $("notice").textContent = data.not_a_medical_device;
      $("version").textContent = "version " + data.version;
      data.types.forEach(function (t) { $("type").appendChild(el("option", {value: t.id}, t.title)); });
      var query = new URLSearchParams(location.search);
      var type = query.get("type");
      if (!data.types.some(function (t) { return t.id === type; })) { type = data.types[0].id; }
      return getJSON("/api/types/" + encodeURIComponent(type)).then(function (info) {
        var overrides = {};
        info.fields.forEach(function (f) { if (query.has(f.name)) { overrides[f.name] = decodeValue(f, query.get(f.name)); } });
        return loadType(type, query.get("preset"), overrides);
      });
    }).catch(function (e) { $("status").textContent = "cannot reach the server: " + (e.error || e); });
    $("type").addEventListener("change", function () { loadType($("type").value, null, {}); });
    $("preset").addEventListener("change", function () {
      state.preset = $("preset").value;
      state.values = Object.assign({}, state.info.presets[state.preset]);
      renderForm();
      touch(null);
    });
    $("insitu").addEventListener("change", function () { touch(state.changed); });
  }
  start();
})();
