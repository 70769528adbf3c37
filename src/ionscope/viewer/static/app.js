/* ionscope viewer: the five linked views over the server's JSON/binary API. */
"use strict";

const $ = id => document.getElementById(id);
const TOKEN = document.querySelector('meta[name="ionscope-token"]').content;
const VIEW_KINDS = {
  spectrum: ["spectrum", "hyperspectral", "ion_image", "cube3d", "operando"],
  images: ["image", "ion_image", "hyperspectral", "cube3d", "operando"],
  depth: ["depth_profile", "cube3d"],
  operando: ["operando"],
  volume: ["volume"],
  maps: ["cube3d"],
};
/* Datasets a view lists: its kinds, and for the Maps view every store holding maps. */
const inView = (view, d) => d.status === "ok" && (VIEW_KINDS[view].includes(d.kind) || (view === "maps" && d.maps > 0));
const DEFAULT_VIEW = { spectrum: "spectrum", hyperspectral: "images", ion_image: "images", image: "images",
  cube3d: "images", depth_profile: "depth", operando: "operando", volume: "volume" };
const AXIS_LABEL = { sputter_time: "sputter time", dose: "dose", fluence: "fluence", depth: "depth", scan: "scan" };
const GREY = (() => { const l = new Uint8ClampedArray(768); for (let i = 0; i < 256; i++) l[i * 3] = l[i * 3 + 1] = l[i * 3 + 2] = i; return l; })();

const S = window.ionscope = { datasets: [], meta: {}, view: null, views: {} };

async function api(path, opts = {}) {
  const r = await fetch(path, { ...opts, headers: { ...(opts.headers || {}), "X-Ionscope-Token": TOKEN } });
  if (!r.ok) {
    let msg = r.statusText;
    try { const e = (await r.json()).error; msg = typeof e === "string" ? e : e.message; } catch (e) { /* not JSON */ }
    const err = new Error(msg); err.status = r.status; throw err;
  }
  return r;
}
const getJSON = async p => (await api(p)).json();
const getImage = async p => IS.decodeImage(await (await api(p)).arrayBuffer());
const postJSON = async (p, body) => (await api(p, { method: "POST", body: JSON.stringify(body),
  headers: { "Content-Type": "application/json" } })).json();
const qs = o => Object.entries(o).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");

function setStatus(text, bad) { const s = $("status"); s.textContent = text || ""; s.style.color = bad ? "#ffb3b3" : ""; }
async function meta(id) { if (!S.meta[id]) S.meta[id] = await getJSON(`/api/datasets/${id}`); return S.meta[id]; }
function entry(id) { return S.datasets.find(d => d.id === id); }
function el(tag, attrs = {}, text) { const e = document.createElement(tag); Object.assign(e, attrs); if (text !== undefined) e.textContent = text; return e; }

/* ---------------------------------------------------------------- catalogue and navigation */
async function init() {
  const { datasets } = await getJSON("/api/datasets");
  S.datasets = datasets;
  const ul = $("catalogue");
  for (const d of datasets) {
    const li = el("li", { className: d.status === "error" ? "error" : "" }, d.name);
    li.dataset.id = d.id;
    li.append(el("span", { className: "kind" }, d.status === "error" ? "failed to load" : `${d.kind} ${d.shape.join("×")}`));
    li.addEventListener("click", () => openDataset(d.id));
    ul.append(li);
  }
  for (const view of Object.keys(VIEW_KINDS)) {
    const sel = $(S.views[view].select);
    const ok = datasets.filter(d => inView(view, d));
    for (const d of ok) sel.append(el("option", { value: d.id }, d.name));
    sel.addEventListener("change", () => S.views[view].load(sel.value));
    document.querySelector(`#tabs button[data-view="${view}"]`).disabled = ok.length === 0;
  }
  document.querySelectorAll("#tabs button").forEach(b => b.addEventListener("click", () => showView(b.dataset.view)));
  const wanted = new URLSearchParams(location.hash.slice(1)).get("dataset");  // from the catalogue page
  const first = datasets.find(d => d.id === wanted) || datasets.find(d => d.status === "ok") || datasets[0];
  if (first) await openDataset(first.id);
  else showError({ name: "— no datasets", error: "None of the paths given to `ionscope view` holds a file ionscope reads." });
  document.body.dataset.ready = "1";
}

function markSelected(id) {
  document.querySelectorAll("#catalogue li").forEach(li => li.classList.toggle("selected", li.dataset.id === id));
}

async function openDataset(id) {
  const d = entry(id);
  markSelected(id);
  if (d.status === "error") { showError(d); return; }
  const view = d.maps > 0 ? "maps" : DEFAULT_VIEW[d.kind];
  await S.views[view].load(id);
  showView(view);
}

function showError(d) {
  document.querySelectorAll("section.view").forEach(s => { s.hidden = true; });
  document.querySelectorAll("#tabs button").forEach(b => b.classList.remove("active"));
  $("error-file").textContent = d.name;
  $("error-message").textContent = d.error;
  $("error-panel").hidden = false;
  document.body.dataset.view = "error";
}

function showView(view) {
  document.querySelectorAll("section.view").forEach(s => { s.hidden = s.id !== `view-${view}`; });
  document.querySelectorAll("#tabs button").forEach(b => b.classList.toggle("active", b.dataset.view === view));
  S.view = view;
  document.body.dataset.view = view;
  const v = S.views[view];
  if (!v.id) { const sel = $(v.select); if (sel.value) v.load(sel.value); }
  else v.redraw();
}

function guard(fn) {
  return async (...args) => {
    try { return await fn(...args); } catch (e) { setStatus(`${e.status ? e.status + ": " : ""}${e.message}`, true); console.error(e); }
  };
}

/* ---------------------------------------------------------------- shared image helpers */
function displaySize(h, w, umY, umX, maxSide) {
  const aspect = (h * (umY || 1)) / (w * (umX || 1));
  return aspect >= 1 ? [maxSide, Math.max(8, Math.round(maxSide / aspect))] : [Math.max(8, Math.round(maxSide * aspect)), maxSide];
}

function makePanel(container, title) {
  const div = el("div", { className: "panel" });
  div.append(el("h4", {}, title));
  const canvas = el("canvas");
  const caption = el("div", { className: "hint" });
  div.append(canvas, caption);
  container.append(div);
  return { div, canvas, caption };
}

/* Keep a copy of what was painted so ROIs can be drawn over it and erased. */
function snapshot(canvas) {
  const c = el("canvas"); c.width = canvas.width; c.height = canvas.height;
  c.getContext("2d").drawImage(canvas, 0, 0); canvas._base = c;
}
function drawRoiOverlay(canvas, shape) {
  const ctx = canvas.getContext("2d");
  if (canvas._base) { ctx.clearRect(0, 0, canvas.width, canvas.height); ctx.drawImage(canvas._base, 0, 0); }
  if (!shape || !shape.points || shape.points.length === 0) return;
  ctx.strokeStyle = "#ff2d55"; ctx.lineWidth = 2; ctx.setLineDash([5, 3]); ctx.beginPath();
  shape.points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  if (shape.closed) ctx.closePath();
  ctx.stroke(); ctx.setLineDash([]);
}

/* Rectangle (drag) or polygon (click points, double-click to close) ROIs; onDone gets full-resolution pixels. */
function attachRoi(canvas, fullShape, getMode, onDone, onDraw) {
  let shape = null, dragging = false;
  const pos = e => { const r = canvas.getBoundingClientRect(); return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  const toFull = ([x, y]) => [x / canvas.width * fullShape[1], y / canvas.height * fullShape[0]];
  const redraw = () => { drawRoiOverlay(canvas, shape); if (onDraw) onDraw(shape); };
  canvas.addEventListener("mousedown", e => {
    if (getMode() !== "rect") return;
    const p = pos(e); dragging = true; shape = { start: p, points: [p, p, p, p], closed: true }; redraw();
  });
  canvas.addEventListener("mousemove", e => {
    if (!dragging) return;
    const [x0, y0] = shape.start, [x1, y1] = pos(e);
    shape.points = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]; redraw();
  });
  canvas.addEventListener("mouseup", () => {
    if (!dragging) return; dragging = false;
    const [[x0, y0], , [x1, y1]] = shape.points;
    if (Math.abs(x1 - x0) < 2 || Math.abs(y1 - y0) < 2) { shape = null; redraw(); return; }
    const [fx0, fy0] = toFull([x0, y0]), [fx1, fy1] = toFull([x1, y1]);
    onDone({ type: "rect", x0: fx0, y0: fy0, x1: fx1, y1: fy1 });
  });
  canvas.addEventListener("click", e => {
    if (getMode() !== "polygon") return;
    if (!shape || shape.closed) shape = { points: [], closed: false };
    shape.points.push(pos(e)); redraw();
  });
  canvas.addEventListener("dblclick", () => {
    if (getMode() !== "polygon" || !shape) return;
    const pts = shape.points.filter((p, i, a) => i === 0 || Math.hypot(p[0] - a[i - 1][0], p[1] - a[i - 1][1]) > 1);
    if (pts.length < 3) return;
    shape = { points: pts, closed: true }; redraw();
    onDone({ type: "polygon", points: pts.map(toFull) });
  });
  return { redraw };
}

/* ---------------------------------------------------------------- Spectrum view */
const sp = S.views.spectrum = {
  select: "sp-dataset", id: null, data: null, peaks: [],
  plot: null,
  async load(id) {
    this.id = id; $("sp-dataset").value = id;
    const m = await meta(id);
    const data = await getJSON(`/api/datasets/${id}/spectrum`);
    if (this.id !== id) return; // a newer selection won the race
    this.data = data;
    this.peaks = this.data.peaks;
    // what the labels can claim: the polarity (or that it is not recorded), nominal masses on unit-mass channels
    $("sp-labelling").textContent = data.labelling ? `Peak labels: ${data.labelling.note}.` : "";
    this.plot.opts.xRange = this.data.range;
    this.plot.view = null;
    this.setData(this.data);
    this.plot.opts.ylabel = m.units || "counts";
    this.redraw();
  },
  setData(d) {
    this.plot.series = [{ x: d.mz, y: d.counts, colour: "#1f4e79", sticks: d.mode === "sticks", width: d.mode === "sticks" ? 3 : 1.2 }];
    this.plot.labels = this.peaks.map(p => ({ x: p.mz, y: p.height, text: p.label }));
  },
  redraw() {
    this.plot.logY = $("sp-scale").value === "log";
    this.plot.draw();
    const c = $("sp-canvas"); c.dataset.peaks = this.peaks.length; c.dataset.dataset = this.id || "";
  },
  async zoom(lo, hi) {
    if (!this.data || this.data.mode !== "line") return;
    const d = lo === null ? this.data : await getJSON(`/api/datasets/${this.id}/spectrum?${qs({ lo, hi })}`);
    this.setData(d); this.plot.draw();
  },
  async click(mz, p) {
    if (!this.peaks.length) return;
    let best = null, bestD = 12;
    for (const pk of this.peaks) { const d = Math.abs(this.plot.xMap(pk.mz) - p.x); if (d < bestD) { best = pk; bestD = d; } }
    if (!best) return;
    await linkPeakToImage(this.id, best);
  },
};

async function linkPeakToImage(sourceId, peak) {
  const src = entry(sourceId);
  if (["ion_image", "cube3d", "operando"].includes(src.kind) && peak.index !== undefined) {
    return openImages(sourceId, { peak: peak.index });
  }
  if (src.kind === "hyperspectral") return openImages(sourceId, { lo: peak.mz - 0.3, hi: peak.mz + 0.3, label: peak.label });
  for (const d of S.datasets.filter(x => x.status === "ok" && ["ion_image", "cube3d"].includes(x.kind))) {
    const m = await meta(d.id);
    const mz = m.coords.mz && m.coords.mz.values;
    const names = m.peaks || [];
    let j = names.indexOf(peak.label);
    if (j < 0 && mz) {
      let bestD = 0.3;
      mz.forEach((v, i) => { if (Math.abs(v - peak.mz) < bestD) { bestD = Math.abs(v - peak.mz); j = i; } });
    }
    if (j >= 0) { setStatus(`${peak.label} → ${d.name}`); return openImages(d.id, { peak: j }); }
  }
  setStatus(`no ion image of m/z ${peak.mz.toFixed(2)} (${peak.label}) among the datasets`, true);
}

async function openImages(id, focus) {
  markSelected(id);
  await im.load(id, focus);
  showView("images");
}

/* ---------------------------------------------------------------- Ion images view */
const im = S.views.images = {
  select: "im-dataset", id: null, meta: null, species: [], selected: [], panels: [], roiPlot: null,
  async load(id, focus) {
    this.id = id; $("im-dataset").value = id;
    const m = await meta(id);
    if (this.id !== id) return;
    this.meta = m;
    if (m.kind === "hyperspectral") {
      const spec = await getJSON(`/api/datasets/${id}/spectrum`);
      if (this.id !== id) return;
      // the total-ion image (every channel summed: no window) first, then a window around each detected peak
      this.species = [{ label: "total ions", params: {} }, ...spec.peaks.map(p => ({ label: p.label, params: { lo: p.mz - 0.3, hi: p.mz + 0.3 } }))];
      if (focus && focus.lo !== undefined) this.species.unshift({ label: focus.label || `m/z ${((focus.lo + focus.hi) / 2).toFixed(2)}`, params: { lo: focus.lo, hi: focus.hi } });
    } else if (m.peaks) {
      this.species = m.peaks.map((p, i) => ({ label: p, params: { peak: i } }));
    } else {
      this.species = [{ label: m.name, params: {} }];
    }
    this.selected = focus && focus.peak !== undefined ? [focus.peak] : (focus && focus.lo !== undefined ? [0] : this.species.slice(0, 3).map((_, i) => i));
    const lead = m.kind === "cube3d" ? "scan" : m.kind === "operando" ? "state" : null;
    this.lead = lead;
    $("im-scan-box").hidden = !lead;
    if (lead) {
      const n = m.shape[m.dims.indexOf(lead)];
      $("im-scan").max = n - 1; $("im-scan").value = Math.floor(n / 2);
      $("im-scan-box").firstChild.textContent = lead === "scan" ? "Scan " : "State ";
      $("im-scan-sum").disabled = lead !== "scan";
    }
    $("im-mz-box").hidden = m.kind !== "hyperspectral";
    this.chips();
    $("im-roi-what").querySelector('option[value="profile"]').disabled = m.kind !== "cube3d";
    if (m.kind !== "cube3d") $("im-roi-what").value = "spectrum";
    $("im-roi-plot").hidden = true; $("im-roi-title").hidden = true;
    await this.redraw();
  },
  chips() { // the species chips and the RGB channel pickers
    const box = $("im-species"); box.replaceChildren();
    this.species.forEach((s, i) => {
      const lab = el("label", { className: "chip" });
      const cb = el("input", { type: "checkbox", checked: this.selected.includes(i) });
      cb.dataset.index = i;
      cb.addEventListener("change", () => { this.selected = [...box.querySelectorAll("input:checked")].map(c => +c.dataset.index); this.redraw(); });
      lab.append(cb, document.createTextNode(s.label)); box.append(lab);
    });
    for (const [k, c] of [["im-r", 0], ["im-g", 1], ["im-b", 2]]) {
      const sel = $(k); sel.replaceChildren(el("option", { value: "" }, "—"));
      this.species.forEach((s, i) => sel.append(el("option", { value: i }, s.label)));
      const pick = this.selected[c] !== undefined ? this.selected[c] : (c < this.species.length ? c : "");
      sel.value = pick;
    }
  },
  addMz() { // a window of the user's choosing on a hyperspectral cube: its image, next to the others
    const mz = parseFloat($("im-mz").value), half = parseFloat($("im-mz-half").value);
    if (!Number.isFinite(mz) || !Number.isFinite(half) || half <= 0) { setStatus("give an m/z and a half-width > 0", true); return; }
    this.species.push({ label: `m/z ${IS.fmt(mz)} ± ${IS.fmt(half)}`, params: { lo: mz - half, hi: mz + half } });
    this.selected = [...this.selected, this.species.length - 1];
    this.chips();
    return this.redraw();
  },
  params(i) {
    const p = { ...this.species[i].params };
    if (this.lead === "scan") { if ($("im-scan-sum").checked) p.scan = "sum"; else p.scan = $("im-scan").value; }
    if (this.lead === "state") p.state = $("im-scan").value;
    return p;
  },
  async redraw() {
    if (!this.id) return;
    $("im-scan-val").textContent = this.lead ? this.leadLabel() : "";
    const rgb = $("im-mode").value === "rgb";
    $("im-rgb-pickers").hidden = !rgb; $("im-species").hidden = rgb;
    const wanted = rgb ? ["im-r", "im-g", "im-b"].map(k => $(k).value === "" ? null : +$(k).value) : this.selected;
    const seq = this.seq = (this.seq || 0) + 1;
    $("im-panels").dataset.busy = "1";
    const imgs = await Promise.all(wanted.map(i => (i === null || i === undefined ? null : getImage(`/api/datasets/${this.id}/image?${qs(this.params(i))}`))));
    if (seq !== this.seq) return; // a newer redraw is on its way
    delete $("im-panels").dataset.busy;
    const log = $("im-scale").value === "log", shared = $("im-shared").checked;
    const got = imgs.filter(Boolean);
    const gmin = Math.min(...got.map(g => g.header.min)), gmax = Math.max(...got.map(g => g.header.max));
    const cont = $("im-panels"); cont.replaceChildren(); this.panels = [];
    if (!got.length) { cont.append(el("p", { className: "hint" }, "select at least one species")); return; }
    const h0 = got[0].header, [ch, cw] = displaySize(h0.shape[0], h0.shape[1], h0.pixel_um[0], h0.pixel_um[1], got.length > 2 && !rgb ? 300 : 400);
    const mk = (title, imageData, caption) => {
      const p = makePanel(cont, title); p.canvas.width = cw; p.canvas.height = ch;
      IS.paint(p.canvas, imageData);
      if (h0.pixel_um[1]) IS.drawScaleBar(p.canvas, h0.pixel_um[1] * h0.shape[1] / cw);
      snapshot(p.canvas);
      p.caption.textContent = caption;
      p.roi = attachRoi(p.canvas, h0.full_shape, () => $("im-roi").value, roi => this.submitRoi(roi), shape => { this.roiShape = shape; this.panels.forEach(q => { if (q !== p) drawRoiOverlay(q.canvas, shape); }); });
      p.canvas.dataset.drawn = "1";
      for (const k of ["scan", "state"]) if (h0.selection[k] !== undefined) p.canvas.dataset[k] = h0.selection[k];
      this.panels.push(p);
      return p;
    };
    if (rgb) {
      const ranges = imgs.map(g => (g ? (shared ? [gmin, gmax] : [g.header.min, g.header.max]) : [0, 1]));
      const names = ["R", "G", "B"].map((c, k) => (wanted[k] === null ? null : `${c}: ${this.species[wanted[k]].label}`)).filter(Boolean);
      const p = mk(names.join(" · "), IS.rgbOverlay(imgs, ranges, log), `${log ? "log" : "linear"} scale per channel`);
      p.canvas.dataset.mode = "rgb";
    } else {
      imgs.forEach((g, k) => {
        const [lo, hi] = shared ? [gmin, gmax] : [g.header.min, g.header.max];
        const p = mk(this.species[wanted[k]].label, IS.colourise(g, lo, hi, log), `${IS.fmt(lo)} – ${IS.fmt(hi)} ${g.header.units} (${log ? "log" : "linear"}${shared ? ", shared" : ""})`);
        p.canvas.dataset.species = this.species[wanted[k]].label; p.canvas.dataset.max = hi;
      });
    }
    if (this.roiShape && this.roiShape.closed) this.panels.forEach(p => drawRoiOverlay(p.canvas, this.roiShape));
    $("im-panels").dataset.count = this.panels.length;
  },
  leadLabel() {
    const m = this.meta, i = +$("im-scan").value;
    if (this.lead === "scan" && $("im-scan-sum").checked) return "all scans";
    const c = this.lead === "scan" ? (m.coords.sputter_time || m.coords.depth) : (m.coords.voltage || m.coords.time);
    return c && c.values ? `${i} (${IS.fmt(c.values[i])} ${c.unit})` : String(i);
  },
  async submitRoi(roi) {
    let what = $("im-roi-what").value;
    if (what === "profile" && this.meta.kind !== "cube3d") what = "spectrum";
    const r = await postJSON(`/api/datasets/${this.id}/roi`, { roi, what });
    if (what === "profile") {
      dp.roiProfile = { id: this.id, data: r };
      markSelected(this.id);
      await dp.load(this.id, true);
      showView("depth");
      return;
    }
    $("im-roi-plot").hidden = false; $("im-roi-title").hidden = false;
    $("im-roi-title").textContent = `ROI spectrum (${r.pixels} pixels, mean counts per pixel)`;
    this.roiPlot.opts.xRange = r.mode === "sticks" ? [Math.min(...r.mz) - 1, Math.max(...r.mz) + 1] : null;
    this.roiPlot.series = [{ x: r.mz, y: r.counts, colour: "#ff2d55", sticks: r.mode === "sticks", width: 3 }];
    this.roiPlot.labels = r.species ? r.mz.map((x, i) => ({ x, y: r.counts[i], text: r.species[i] })) : [];
    this.roiPlot.draw();
    $("im-roi-plot").dataset.pixels = r.pixels;
  },
  exportPng() {
    const p = this.panels[0]; if (!p) return;
    const url = p.canvas.toDataURL("image/png");
    const a = el("a", { href: url, download: `${entry(this.id).name.replace(/\W+$/, "")}_${(p.canvas.dataset.species || "overlay").replace(/[^\w+-]/g, "")}.png` });
    document.body.append(a); a.click(); a.remove();
    document.body.dataset.lastExport = String(url.length);
  },
};

/* ---------------------------------------------------------------- Depth profile view */
const dp = S.views.depth = {
  select: "dp-dataset", id: null, data: null, roiProfile: null, hidden: new Set(), plot: null,
  async load(id, fromRoi) {
    this.id = id; $("dp-dataset").value = id;
    if (!fromRoi) this.roiProfile = null;
    const useRoi = this.roiProfile && this.roiProfile.id === id;
    const data = useRoi ? this.roiProfile.data : await getJSON(`/api/datasets/${id}/profile`);
    if (this.id !== id) return;
    this.data = data;
    $("dp-source").textContent = useRoi ? `ROI depth profile (${this.data.pixels} pixels)` : (entry(id).kind === "cube3d" ? "whole field of view" : "");
    const axSel = $("dp-axis"), prev = axSel.value; axSel.replaceChildren();
    for (const [k, a] of Object.entries(this.data.axes)) axSel.append(el("option", { value: k }, `${AXIS_LABEL[k] || k} (${a.unit})`));
    if (this.data.axes[prev]) axSel.value = prev;
    this.hidden = new Set();
    const box = $("dp-species"); box.replaceChildren();
    this.data.species.forEach((s, j) => {
      const lab = el("label", { className: "chip" }), cb = el("input", { type: "checkbox", checked: true });
      cb.dataset.species = s;
      const sw = el("span", { className: "swatch" }); sw.style.background = IS.PALETTE[j % IS.PALETTE.length];
      cb.addEventListener("change", () => { if (cb.checked) this.hidden.delete(s); else this.hidden.add(s); this.redraw(); });
      lab.append(cb, sw, document.createTextNode(s)); box.append(lab);
    });
    this.plot.view = null;
    this.redraw();
  },
  redraw() {
    if (!this.data) return;
    const axis = $("dp-axis").value, ax = this.data.axes[axis];
    this.plot.logY = $("dp-scale").value === "log";
    this.plot.opts.xlabel = `${AXIS_LABEL[axis] || axis} (${ax.unit})`;
    this.plot.opts.ylabel = this.data.units || "counts";
    this.plot.series = this.data.species.map((s, j) => ({ x: ax.values, y: this.data.counts[j], colour: IS.PALETTE[j % IS.PALETTE.length], label: s, hidden: this.hidden.has(s) }));
    const an = this.data.annotations[axis], show = $("dp-annot").checked;
    this.plot.marks = show ? an.interfaces.map(i => ({ x: i.position, colour: "#333", dash: [6, 4], label: IS.fmt(i.position) })) : [];
    const tints = ["rgba(31,119,180,0.08)", "rgba(214,39,40,0.08)", "rgba(44,160,44,0.08)", "rgba(255,127,14,0.08)"];
    this.plot.bands = show ? an.layers.map((l, k) => ({ x0: l.start, x1: l.end, label: l.name, colour: tints[k % tints.length] })) : [];
    this.plot.draw();
    const c = $("dp-canvas");
    c.dataset.interfaces = show ? an.interfaces.length : 0; c.dataset.layers = show ? an.layers.length : 0;
    c.dataset.visible = this.plot.series.filter(s => !s.hidden).length; c.dataset.axis = axis;
  },
};

/* ---------------------------------------------------------------- Operando view */
const op = S.views.operando = {
  select: "op-dataset", id: null, meta: null, curve: null, traj: null, curvePlot: null, trajPlot: null, roi: null,
  async load(id) {
    this.id = id; $("op-dataset").value = id;
    const m = await meta(id), curve = await getJSON(`/api/datasets/${id}/operando`);
    if (this.id !== id) return;
    this.meta = m; this.curve = curve;
    this.traj = this.curve.whole_field; this.trajTitle = "whole field (mean counts per pixel)";
    $("op-state").max = this.curve.n_states - 1;
    $("op-state").value = 0;
    await this.redraw();
  },
  xs() {
    const c = this.curve, n = c.n_states;
    if (c.time) { const hours = Math.max(...c.time) > 3 * 3600; return { x: c.time.map(t => (hours ? t / 3600 : t)), label: `time (${hours ? "h" : c.units.time})` }; }
    return { x: [...Array(n).keys()], label: "state" };
  },
  async redraw() {
    if (!this.curve) return;
    const s = +$("op-state").value, c = this.curve, { x, label } = this.xs();
    const y = c.voltage || c.charge || x;
    const yl = c.voltage ? `voltage (${c.units.voltage})` : c.charge ? `charge (${c.units.charge})` : "state";
    $("op-state-val").textContent = `${s}${c.voltage ? ` · ${c.voltage[s].toFixed(3)} V` : ""}${c.time ? ` · ${IS.fmt(x[s])} ${label.match(/\((.*)\)/)[1]}` : ""}`;
    Object.assign(this.curvePlot.opts, { xlabel: label, ylabel: yl, title: "cycling curve" });
    this.curvePlot.series = [{ x, y, colour: "#1f4e79", points: true }];
    this.curvePlot.marks = [{ x: x[s], y: y[s], colour: "#d62728" }];
    this.curvePlot.draw();
    $("op-curve").dataset.state = s;
    Object.assign(this.trajPlot.opts, { xlabel: label, ylabel: "mean counts / pixel", title: this.trajTitle, legend: true });
    this.trajPlot.series = this.traj.species.map((sp_, j) => ({ x, y: this.traj.values[j], colour: IS.PALETTE[j % IS.PALETTE.length], label: sp_, points: true }));
    this.trajPlot.marks = [{ x: x[s], colour: "#d62728", dash: [4, 3] }];
    this.trajPlot.draw();
    $("op-traj").dataset.pixels = this.traj.pixels;
    const peaks = this.meta.peaks, log = $("op-scale").value === "log";
    const seq = this.seq = (this.seq || 0) + 1;
    const imgs = await Promise.all(peaks.map((_, j) => getImage(`/api/datasets/${this.id}/image?${qs({ peak: j, state: s })}`)));
    if (seq !== this.seq) return;
    const cont = $("op-panels"); cont.replaceChildren();
    imgs.forEach((g, j) => {
      const h = g.header, p = makePanel(cont, peaks[j]);
      const [ch, cw] = displaySize(h.shape[0], h.shape[1], h.pixel_um[0], h.pixel_um[1], 260);
      p.canvas.width = cw; p.canvas.height = ch;
      IS.paint(p.canvas, IS.colourise(g, 0, h.max, log));
      if (h.pixel_um[1]) IS.drawScaleBar(p.canvas, h.pixel_um[1] * h.shape[1] / cw);
      snapshot(p.canvas);
      if (this.roiShape) drawRoiOverlay(p.canvas, this.roiShape);
      p.caption.textContent = `0 – ${IS.fmt(h.max)} ${h.units}`;
      attachRoi(p.canvas, h.full_shape, () => "rect", guard(async roi => {
        const r = await postJSON(`/api/datasets/${this.id}/roi`, { roi, what: "trajectory" });
        this.traj = r; this.trajTitle = `ROI (${r.pixels} pixels)`;
        await this.redraw();
      }), shape => { this.roiShape = shape; });
      p.canvas.dataset.state = s; p.canvas.dataset.species = peaks[j];
    });
  },
  clickCurve(xv) {
    const { x } = this.xs();
    let best = 0;
    x.forEach((v, i) => { if (Math.abs(v - xv) < Math.abs(x[best] - xv)) best = i; });
    $("op-state").value = best;
    this.redraw();
  },
};

/* ---------------------------------------------------------------- Volume view */
const vo = S.views.volume = {
  select: "vo-dataset", id: null, meta: null, idx: {},
  async load(id) {
    this.id = id; $("vo-dataset").value = id;
    const m = await meta(id);
    if (this.id !== id) return;
    this.meta = m;
    const n = Object.fromEntries(m.dims.map((d, i) => [d, m.shape[i]]));
    this.n = n; this.idx = { z: Math.floor(n.z / 2), y: Math.floor(n.y / 2), x: Math.floor(n.x / 2) };
    $("vo-overlay").disabled = !m.has_labels;
    const leg = $("vo-legend"); leg.replaceChildren();
    for (const [name, v] of Object.entries(m.phases || {})) {
      const li = el("li"), sw = el("span", { className: "swatch" });
      sw.style.background = `rgb(${IS.LABEL_COLOURS[v % IS.LABEL_COLOURS.length].join(",")})`;
      li.append(sw, document.createTextNode(`${name} (${v})`)); li.dataset.label = v; leg.append(li);
    }
    const cont = $("vo-panels"); cont.replaceChildren(); this.panels = {};
    const sp_ = m.spacing_um || [1, 1, 1];
    const planes = { z: ["y", "x"], y: ["z", "x"], x: ["z", "y"] };
    for (const axis of ["z", "y", "x"]) {
      const [r, c] = planes[axis], si = { z: sp_[0], y: sp_[1], x: sp_[2] };
      const p = makePanel(cont, `${axis} slice (${r}–${c} plane)`);
      const [ch, cw] = displaySize(n[r], n[c], si[r], si[c], 300);
      p.canvas.width = cw; p.canvas.height = ch; p.canvas.dataset.axis = axis;
      p.umPerPx = si[c] * n[c] / cw;
      const slider = el("input", { type: "range", min: 0, max: n[axis] - 1, value: this.idx[axis] });
      slider.id = `vo-${axis}`;
      slider.addEventListener("input", () => { this.idx[axis] = +slider.value; this.drawPanel(axis); });
      p.div.insertBefore(slider, p.caption);
      this.panels[axis] = p;
    }
    if (S.scribble) S.scribble.attach(this);  // Label mode (scribble.js)
    await this.redraw();
  },
  async drawPanel(axis) {
    const p = this.panels[axis], q = qs({ axis, index: this.idx[axis] });
    const [g, lab] = await Promise.all([getImage(`/api/datasets/${this.id}/image?${q}`),
      this.meta.has_labels ? getImage(`/api/datasets/${this.id}/labels?${q}`) : null]);
    if (+this.idx[axis] !== g.header.selection.index) return; // a newer request is on its way
    const img = IS.colourise(g, g.header.min, g.header.max, false, GREY);
    if (lab && $("vo-overlay").checked) {
      const a = +$("vo-opacity").value / 100, px = img.data;
      const [h, w] = g.shape, [lh, lw] = lab.shape;
      for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) {
        const v = lab.data[Math.min(lh - 1, yy) * lw + Math.min(lw - 1, xx)], col = IS.LABEL_COLOURS[v % IS.LABEL_COLOURS.length], i = (yy * w + xx) * 4;
        for (let k = 0; k < 3; k++) px[i + k] = (1 - a) * px[i + k] + a * col[k];
      }
    }
    IS.paint(p.canvas, img);
    IS.drawScaleBar(p.canvas, p.umPerPx);
    snapshot(p.canvas);
    if (S.scribble) S.scribble.paint(axis);  // scribbled labels over the slice
    p.caption.textContent = `${axis} = ${this.idx[axis]} / ${this.n[axis] - 1}`;
    p.canvas.dataset.index = this.idx[axis];
    p.canvas.dataset.overlay = lab && $("vo-overlay").checked ? "1" : "0";
  },
  async redraw() { if (this.id) await Promise.all(["z", "y", "x"].map(a => this.drawPanel(a))); },
};

/* ---------------------------------------------------------------- Maps view: physical-unit maps and cube side views */
const mp = S.views.maps = {
  select: "mp-dataset", id: null, meta: null, img: null, pending: null, busy: false,
  async load(id) {
    this.id = id; $("mp-dataset").value = id;
    const m = await meta(id);
    if (this.id !== id) return;
    this.meta = m; this.side = m.kind === "cube3d" && !(m.map_variables || []).length;
    $("mp-var-box").hidden = this.side; $("mp-plane-box").hidden = !this.side; $("mp-index-box").hidden = !this.side;
    if (!this.side) {
      const sel = $("mp-var"); sel.replaceChildren();
      for (const v of m.map_variables) sel.append(el("option", { value: v.name }, `${v.label} (${IS.unitText(v.unit)})`));
    }
    this.setPeaks();
    await this.redraw();
  },
  variable() { return this.side ? null : this.meta.map_variables.find(v => v.name === $("mp-var").value); },
  setPeaks() {
    const v = this.variable(), peaks = this.side ? this.meta.peaks : (v && v.peaks), sel = $("mp-peak"), prev = sel.value;
    $("mp-peak-box").hidden = !peaks; sel.replaceChildren();
    (peaks || []).forEach((p, i) => sel.append(el("option", { value: i }, p)));
    if (peaks && prev !== "" && +prev < peaks.length) sel.value = prev;
  },
  params() {
    if (this.side) {
      const plane = $("mp-plane").value, fixed = plane === "xz" ? "y" : "x", n = this.meta.shape[this.meta.dims.indexOf(fixed)];
      const slider = $("mp-index");
      if (+slider.max !== n - 1) { slider.max = n - 1; slider.value = Math.floor(n / 2); }
      $("mp-index-name").textContent = plane === "xz" ? "Row (y)" : "Column (x)";
      return { plane, index: slider.value, peak: $("mp-peak").value || 0 };
    }
    const p = { var: $("mp-var").value };
    if (!$("mp-peak-box").hidden) p.peak = $("mp-peak").value || 0;
    return p;
  },
  async redraw() {
    if (!this.id) return;
    const params = this.params(), route = this.side ? "side" : "map";
    const seq = this.seq = (this.seq || 0) + 1;
    const g = await getImage(`/api/datasets/${this.id}/${route}?${qs(params)}`);
    if (seq !== this.seq) return;
    const changed = JSON.stringify(params) !== JSON.stringify(this.query);
    this.img = g; this.query = params;
    if (changed) { const out = $("mp-hover"); out.textContent = ""; for (const k of ["value", "uncertainty", "unit", "row", "col"]) delete out.dataset[k]; }
    const h = g.header, c = $("mp-canvas"), [ay, ax] = h.axes;
    const spatial = ay.unit === ax.unit && ay.unit !== "index";
    const um = a => Math.abs(a.last - a.first) / Math.max(1, h.full_shape[h.axes.indexOf(a)] - 1) || 1;
    const [ch, cw] = spatial ? displaySize(h.full_shape[0], h.full_shape[1], um(ay), um(ax), 420) : [320, 420];
    c.width = cw; c.height = ch;
    IS.paint(c, IS.colouriseMap(g, h.min, h.max, h.scale));
    if (spatial && ax.unit === "µm") IS.drawScaleBar(c, um(ax) * h.full_shape[1] / cw);
    $("mp-colourbar").height = Math.max(200, ch);
    IS.drawColourBar($("mp-colourbar"), h.min, h.max, h.scale, h.unit);
    const label = this.side ? `${h.selection.species}: side view ${h.selection.plane} at ${h.selection.plane === "xz" ? "row y" : "column x"} = ${h.selection.index}`
      : `${this.variable().label}${h.selection.peak !== undefined ? " · " + this.variable().peaks[h.selection.peak] : ""}`;
    $("mp-title").textContent = label;
    const axText = a => `${AXIS_LABEL[a.name] || a.name} ${IS.fmt(a.first)} – ${IS.fmt(a.last)} ${IS.unitText(a.unit)}`;
    $("mp-axes").textContent = `rows: ${axText(ay)} (top to bottom) · columns: ${axText(ax)}`;
    $("mp-index-val").textContent = this.side ? h.selection.index : "";
    c.dataset.drawn = "1"; c.dataset.var = this.side ? `side_${h.selection.plane}` : h.selection.var;
    c.dataset.scale = h.scale; c.dataset.unit = h.unit;
    c.dataset.rows = h.full_shape[0]; c.dataset.cols = h.full_shape[1];
  },
  hover(e) {
    if (!this.img) return;
    const c = $("mp-canvas"), r = c.getBoundingClientRect(), fs = this.img.header.full_shape;
    const row = Math.min(fs[0] - 1, Math.max(0, Math.floor((e.clientY - r.top) / r.height * fs[0])));
    const col = Math.min(fs[1] - 1, Math.max(0, Math.floor((e.clientX - r.left) / r.width * fs[1])));
    this.pending = { ...this.query, row, col };
    if (!this.busy) this.fetchValue();
  },
  async fetchValue() {
    this.busy = true;
    try {
      while (this.pending) {
        const q = this.pending; this.pending = null;
        const v = await getJSON(`/api/datasets/${this.id}/value?${qs(q)}`);
        const { row: _r, col: _c, ...shown } = q;
        if (JSON.stringify(shown) !== JSON.stringify(this.query)) continue; // the map changed meanwhile
        const out = $("mp-hover"), val = v.value;
        const where = Object.values(v.position).map(p => `${AXIS_LABEL[p.axis] || p.axis} = ${IS.fmt(p.value)} ${IS.unitText(p.unit)}`).join(", ");
        out.textContent = `${v.label} = ${IS.fmtPm(val.value, val.uncertainty)} ${IS.unitText(val.unit)} at ${where}`;
        out.dataset.value = val.value === null ? "" : val.value;
        out.dataset.uncertainty = val.uncertainty === null ? "" : val.uncertainty;
        out.dataset.unit = val.unit; out.dataset.row = q.row; out.dataset.col = q.col;
      }
    } finally { this.busy = false; }
  },
};

/* ---------------------------------------------------------------- wiring */
sp.plot = new IS.Plot($("sp-canvas"), { xlabel: "m/z", ylabel: "counts", onClick: guard((x, p) => sp.click(x, p)), onZoom: guard((a, b) => sp.zoom(a, b)) });
dp.plot = new IS.Plot($("dp-canvas"), { xlabel: "", ylabel: "counts", zeroBased: true });
op.curvePlot = new IS.Plot($("op-curve"), { zeroBased: false, onClick: x => op.clickCurve(x) });
op.trajPlot = new IS.Plot($("op-traj"), { zeroBased: false });
im.roiPlot = new IS.Plot($("im-roi-plot"), { xlabel: "m/z", ylabel: "mean counts / pixel" });
for (const v of Object.values(S.views)) { v.load = guard(v.load.bind(v)); v.redraw = guard(v.redraw.bind(v)); }
im.submitRoi = guard(im.submitRoi.bind(im));
mp.fetchValue = guard(mp.fetchValue.bind(mp));
$("sp-scale").addEventListener("change", () => sp.redraw());
$("sp-reset").addEventListener("click", () => sp.plot.resetZoom());
for (const id of ["im-mode", "im-scale", "im-shared", "im-r", "im-g", "im-b", "im-scan-sum"]) $(id).addEventListener("change", () => im.redraw());
$("im-scan").addEventListener("input", () => im.redraw());
$("im-export").addEventListener("click", () => im.exportPng());
$("im-mz-add").addEventListener("click", guard(() => im.addMz()));
for (const id of ["im-mz", "im-mz-half"]) $(id).addEventListener("keydown", e => { if (e.key === "Enter") guard(() => im.addMz())(); });
for (const id of ["dp-axis", "dp-scale", "dp-annot"]) $(id).addEventListener("change", () => dp.redraw());
$("op-state").addEventListener("input", () => op.redraw());
$("op-scale").addEventListener("change", () => op.redraw());
for (const id of ["vo-overlay", "vo-opacity"]) $(id).addEventListener("input", () => vo.redraw());
$("mp-var").addEventListener("change", () => { mp.setPeaks(); mp.redraw(); });
for (const id of ["mp-peak", "mp-plane"]) $(id).addEventListener("change", () => mp.redraw());
$("mp-index").addEventListener("input", () => mp.redraw());
$("mp-canvas").addEventListener("mousemove", guard(e => mp.hover(e)));
guard(init)();
