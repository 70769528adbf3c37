/* ionscope viewer: canvas line/stick plots, colour maps and image rendering (no dependencies). */
"use strict";

const IS = window.IS = {};

IS.PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#7f7f7f"];
IS.LABEL_COLOURS = [[68, 119, 170], [238, 102, 119], [34, 136, 51], [204, 187, 68], [102, 204, 238],
  [170, 51, 119], [187, 187, 187], [0, 0, 0]];

/* Viridis, 9 anchors, linearly interpolated to 256 entries. */
IS.VIRIDIS = (() => {
  const a = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141], [39, 173, 129],
    [92, 200, 99], [170, 220, 50], [253, 231, 37]];
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255 * (a.length - 1), k = Math.min(a.length - 2, Math.floor(t)), f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = a[k][c] * (1 - f) + a[k + 1][c] * f;
  }
  return lut;
})();

IS.niceTicks = function (lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const span = hi - lo, step0 = span / Math.max(1, n);
  const mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= step0) || step0;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push(+v.toPrecision(12));
  return out;
};

IS.fmt = function (v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return +v.toPrecision(4) + "";
};

/* Normalise a value to 0…1 on a linear or log (log10(1+v)) scale. */
IS.normaliser = function (lo, hi, log) {
  if (log) {
    const l0 = Math.log10(1 + Math.max(0, lo)), l1 = Math.log10(1 + Math.max(0, hi));
    const d = l1 > l0 ? l1 - l0 : 1;
    return v => (Math.log10(1 + Math.max(0, v)) - l0) / d;
  }
  const d = hi > lo ? hi - lo : 1;
  return v => (v - lo) / d;
};

/* Draw float pixels into an RGBA ImageData with a colour map. */
IS.colourise = function (img, lo, hi, log, lut) {
  const [h, w] = img.shape, out = new ImageData(w, h), norm = IS.normaliser(lo, hi, log), px = out.data;
  lut = lut || IS.VIRIDIS;
  for (let i = 0; i < w * h; i++) {
    const t = Math.max(0, Math.min(1, norm(img.data[i])));
    const k = Number.isFinite(t) ? Math.round(t * 255) * 3 : 0;
    px[i * 4] = lut[k]; px[i * 4 + 1] = lut[k + 1]; px[i * 4 + 2] = lut[k + 2]; px[i * 4 + 3] = 255;
  }
  return out;
};

/* Up to three images into the red, green and blue channels. */
IS.rgbOverlay = function (imgs, ranges, log) {
  const ref = imgs.find(Boolean), [h, w] = ref.shape, out = new ImageData(w, h), px = out.data;
  for (let i = 0; i < w * h; i++) px[i * 4 + 3] = 255;
  imgs.forEach((img, c) => {
    if (!img) return;
    const norm = IS.normaliser(ranges[c][0], ranges[c][1], log);
    for (let i = 0; i < w * h; i++) px[i * 4 + c] = 255 * Math.max(0, Math.min(1, norm(img.data[i])));
  });
  return out;
};

/* A round scale-bar length (µm) of about a fifth of the field of view. */
IS.scaleBarLength = function (widthUm) {
  const target = widthUm / 5, mag = Math.pow(10, Math.floor(Math.log10(target)));
  return [5, 2, 1].map(m => m * mag).find(v => v <= target) || mag;
};

/* Decode the server's binary image: "ISV1", uint32 header length, JSON header, float32 pixels. */
IS.decodeImage = function (buf) {
  const dv = new DataView(buf);
  const magic = String.fromCharCode(dv.getUint8(0), dv.getUint8(1), dv.getUint8(2), dv.getUint8(3));
  if (magic !== "ISV1") throw new Error("not an ionscope image");
  const n = dv.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
  const data = new Float32Array(buf, 8 + n, header.shape[0] * header.shape[1]);
  return { header, data, shape: header.shape };
};

/* Paint an ImageData onto a canvas at display size (nearest neighbour). */
IS.paint = function (canvas, imageData) {
  const off = document.createElement("canvas");
  off.width = imageData.width; off.height = imageData.height;
  off.getContext("2d").putImageData(imageData, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
};

IS.drawScaleBar = function (canvas, umPerCanvasPx) {
  if (!umPerCanvasPx) return;
  const ctx = canvas.getContext("2d"), len = IS.scaleBarLength(canvas.width * umPerCanvasPx);
  const px = len / umPerCanvasPx, x = canvas.width - px - 10, y = canvas.height - 12;
  ctx.fillStyle = "rgba(0,0,0,0.55)"; ctx.fillRect(x - 6, y - 18, px + 12, 26);
  ctx.fillStyle = "#fff"; ctx.fillRect(x, y, px, 4);
  ctx.font = "12px sans-serif"; ctx.textAlign = "center"; ctx.fillText(`${IS.fmt(len)} µm`, x + px / 2, y - 4);
};

/* A line / stick plot with drag-to-zoom, log y, vertical markers, bands and labelled peaks. */
class Plot {
  constructor(canvas, opts = {}) {
    this.c = canvas; this.opts = opts; this.series = []; this.marks = []; this.bands = []; this.labels = [];
    this.logY = false; this.view = null; this.pad = { l: 62, r: 14, t: opts.title ? 28 : 16, b: 40 };
    this.drag = null;
    canvas.addEventListener("mousedown", e => { this.drag = { x0: this._px(e).x, x1: this._px(e).x }; });
    canvas.addEventListener("mousemove", e => { if (this.drag) { this.drag.x1 = this._px(e).x; this.draw(); } });
    canvas.addEventListener("mouseup", e => {
      const d = this.drag; this.drag = null;
      if (!d) return;
      if (Math.abs(d.x1 - d.x0) > 6) {
        const a = this.xInv(Math.min(d.x0, d.x1)), b = this.xInv(Math.max(d.x0, d.x1));
        this.view = [a, b]; this.draw();
        if (this.opts.onZoom) this.opts.onZoom(a, b);
      } else if (this.opts.onClick) {
        const p = this._px(e);
        this.opts.onClick(this.xInv(p.x), p, e);
      }
    });
    canvas.addEventListener("dblclick", () => this.resetZoom());
  }
  _px(e) {
    const r = this.c.getBoundingClientRect();
    return { x: (e.clientX - r.left) * this.c.width / r.width, y: (e.clientY - r.top) * this.c.height / r.height };
  }
  resetZoom() { this.view = null; this.draw(); if (this.opts.onZoom) this.opts.onZoom(null, null); }
  xRange() {
    if (this.view) return this.view;
    if (this.opts.xRange) return this.opts.xRange;
    let lo = Infinity, hi = -Infinity;
    for (const s of this.series) for (const v of s.x) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (!(hi > lo)) { lo -= 1; hi += 1; }
    return [lo, hi];
  }
  yRange(xr) {
    let lo = Infinity, hi = -Infinity;
    for (const s of this.series) {
      if (s.hidden) continue;
      for (let i = 0; i < s.x.length; i++) {
        if (s.x[i] < xr[0] || s.x[i] > xr[1]) continue;
        const v = s.y[i];
        if (!Number.isFinite(v) || (this.logY && v <= 0)) continue;
        if (v < lo) lo = v; if (v > hi) hi = v;
      }
    }
    if (!Number.isFinite(lo)) return this.logY ? [1, 10] : [0, 1];
    if (this.logY) return [Math.pow(10, Math.floor(Math.log10(lo))), Math.pow(10, Math.ceil(Math.log10(hi)) + 0.05)];
    if (this.opts.zeroBased !== false) lo = Math.min(0, lo);
    return [lo, hi + 0.08 * (hi - lo || 1)];
  }
  xMap(v) { const [a, b] = this._xr; return this.pad.l + (v - a) / (b - a) * (this.c.width - this.pad.l - this.pad.r); }
  xInv(p) { const [a, b] = this._xr; return a + (p - this.pad.l) / (this.c.width - this.pad.l - this.pad.r) * (b - a); }
  yMap(v) {
    const [a, b] = this._yr, H = this.c.height - this.pad.t - this.pad.b;
    if (this.logY) return this.pad.t + H * (1 - (Math.log10(Math.max(v, a)) - Math.log10(a)) / (Math.log10(b) - Math.log10(a)));
    return this.pad.t + H * (1 - (v - a) / (b - a));
  }
  draw() {
    const c = this.c, ctx = c.getContext("2d"), W = c.width, H = c.height, p = this.pad;
    this._xr = this.xRange(); this._yr = this.yRange(this._xr);
    ctx.clearRect(0, 0, W, H); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    ctx.font = "12px sans-serif";
    for (const b of this.bands) {
      const x0 = Math.max(p.l, this.xMap(b.x0)), x1 = Math.min(W - p.r, this.xMap(b.x1));
      if (x1 <= x0) continue;
      ctx.fillStyle = b.colour; ctx.fillRect(x0, p.t, x1 - x0, H - p.t - p.b);
      ctx.fillStyle = "#334"; ctx.textAlign = "center";
      ctx.fillText(b.label, (x0 + x1) / 2, p.t + 14);
    }
    ctx.strokeStyle = "#888"; ctx.lineWidth = 1; ctx.beginPath();
    ctx.moveTo(p.l, p.t); ctx.lineTo(p.l, H - p.b); ctx.lineTo(W - p.r, H - p.b); ctx.stroke();
    ctx.fillStyle = "#333"; ctx.textAlign = "center";
    for (const t of IS.niceTicks(this._xr[0], this._xr[1], 8)) {
      const x = this.xMap(t); if (x < p.l - 1 || x > W - p.r + 1) continue;
      ctx.fillText(IS.fmt(t), x, H - p.b + 15); ctx.fillRect(x, H - p.b, 1, 4);
    }
    ctx.textAlign = "right";
    const yt = this.logY ? this._logTicks() : IS.niceTicks(this._yr[0], this._yr[1], 5);
    for (const t of yt) { const y = this.yMap(t); ctx.fillText(IS.fmt(t), p.l - 5, y + 4); ctx.fillRect(p.l - 4, y, 4, 1); }
    ctx.textAlign = "center";
    if (this.opts.xlabel) ctx.fillText(this.opts.xlabel, p.l + (W - p.l - p.r) / 2, H - 6);
    if (this.opts.title) { ctx.font = "bold 13px sans-serif"; ctx.fillText(this.opts.title, W / 2, 16); ctx.font = "12px sans-serif"; }
    if (this.opts.ylabel) { ctx.save(); ctx.translate(12, p.t + (H - p.t - p.b) / 2); ctx.rotate(-Math.PI / 2); ctx.fillText(this.opts.ylabel, 0, 0); ctx.restore(); }
    ctx.save(); ctx.beginPath(); ctx.rect(p.l, p.t, W - p.l - p.r, H - p.t - p.b); ctx.clip();
    const base = this.yMap(this._yr[0]);
    for (const s of this.series) {
      if (s.hidden) continue;
      ctx.strokeStyle = s.colour; ctx.lineWidth = s.width || 1.5; ctx.beginPath();
      let started = false;
      for (let i = 0; i < s.x.length; i++) {
        const v = s.y[i];
        if (!Number.isFinite(v) || (this.logY && v <= 0)) { started = false; continue; }
        const x = this.xMap(s.x[i]), y = this.yMap(v);
        if (s.sticks) { ctx.moveTo(x, base); ctx.lineTo(x, y); continue; }
        if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
      }
      ctx.stroke();
      if (s.points) {
        ctx.fillStyle = s.colour;
        for (let i = 0; i < s.x.length; i++) if (Number.isFinite(s.y[i])) ctx.fillRect(this.xMap(s.x[i]) - 2, this.yMap(s.y[i]) - 2, 4, 4);
      }
    }
    for (const m of this.marks) {
      const x = this.xMap(m.x);
      ctx.strokeStyle = m.colour || "#000"; ctx.lineWidth = m.width || 1.5; ctx.setLineDash(m.dash || []);
      ctx.beginPath(); ctx.moveTo(x, p.t); ctx.lineTo(x, H - p.b); ctx.stroke(); ctx.setLineDash([]);
      if (m.y !== undefined) { ctx.fillStyle = m.colour || "#000"; ctx.beginPath(); ctx.arc(x, this.yMap(m.y), 5, 0, 2 * Math.PI); ctx.fill(); }
      if (m.label) { ctx.fillStyle = m.colour || "#000"; ctx.textAlign = "left"; ctx.fillText(m.label, x + 3, H - p.b - 6); }
    }
    ctx.fillStyle = "#111"; ctx.textAlign = "center";
    const placed = [];
    for (const l of this.labels) {
      const xd = this.xMap(l.x); if (xd < p.l || xd > W - p.r) continue;
      const half = ctx.measureText(l.text).width / 2 + 2, x = Math.min(W - p.r - half, Math.max(p.l + half, xd));
      const y = Math.max(p.t + 10, this.yMap(l.y) - 6);
      if (placed.some(q => Math.abs(q[0] - x) < 40 && Math.abs(q[1] - y) < 14)) continue;
      placed.push([x, y]); ctx.fillText(l.text, x, y);
    }
    ctx.restore();
    if (this.drag) { ctx.fillStyle = "rgba(40,100,200,0.15)"; ctx.fillRect(Math.min(this.drag.x0, this.drag.x1), p.t, Math.abs(this.drag.x1 - this.drag.x0), H - p.t - p.b); }
    const legend = this.series.filter(s => s.label && !s.hidden);
    if (legend.length > 1 || this.opts.legend) {
      ctx.textAlign = "left"; let y = p.t + (this.bands.length ? 32 : 14);
      for (const s of legend) { ctx.fillStyle = s.colour; ctx.fillRect(W - p.r - 110, y - 8, 12, 3); ctx.fillStyle = "#222"; ctx.fillText(s.label, W - p.r - 94, y - 3); y += 15; }
    }
    c.dataset.drawn = String((+c.dataset.drawn || 0) + 1);
  }
  _logTicks() {
    const out = [];
    for (let e = Math.floor(Math.log10(this._yr[0])); e <= Math.ceil(Math.log10(this._yr[1])); e++) out.push(Math.pow(10, e));
    return out;
  }
}
IS.Plot = Plot;

/* Units as printed: cm^2/s → cm²/s, µm^-1 → µm⁻¹. */
IS.unitText = function (u) {
  const sup = { "-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹" };
  return (u || "").replace(/\^(-?\d+)/g, (_, e) => [...e].map(ch => sup[ch]).join(""));
};

/* Value ± uncertainty with the uncertainty's two significant digits setting the precision. */
IS.fmtPm = function (v, u) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "no value";
  if (u === null || u === undefined || !Number.isFinite(u) || u <= 0) return IS.fmt(v);
  const digits = Math.max(0, 1 - Math.floor(Math.log10(u)));
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    const e = Math.floor(Math.log10(a || u)), s = Math.pow(10, e), d = Math.max(0, e + 1 - Math.floor(Math.log10(u)));
    return `(${(v / s).toFixed(d)} ± ${(u / s).toFixed(d)})e${e}`;
  }
  return `${v.toFixed(Math.min(digits, 12))} ± ${u.toFixed(Math.min(digits, 12))}`;
};

/* 0…1 position of a value on a linear or log10 colour scale of lo…hi. */
IS.scaleMap = function (lo, hi, scale) {
  if (scale === "log") {
    const l0 = Math.log10(lo), l1 = Math.log10(hi), d = l1 > l0 ? l1 - l0 : 1;
    return v => (v > 0 ? (Math.log10(v) - l0) / d : NaN);
  }
  const d = hi > lo ? hi - lo : 1;
  return v => (v - lo) / d;
};

/* A map in viridis on a linear or log10 scale; pixels without a value are light grey. */
IS.colouriseMap = function (img, lo, hi, scale) {
  const [h, w] = img.shape, out = new ImageData(w, h), px = out.data, f = IS.scaleMap(lo, hi, scale), lut = IS.VIRIDIS;
  for (let i = 0; i < w * h; i++) {
    const t = f(img.data[i]);
    if (!Number.isFinite(t)) { px[i * 4] = px[i * 4 + 1] = px[i * 4 + 2] = 215; px[i * 4 + 3] = 255; continue; }
    const k = Math.round(Math.max(0, Math.min(1, t)) * 255) * 3;
    px[i * 4] = lut[k]; px[i * 4 + 1] = lut[k + 1]; px[i * 4 + 2] = lut[k + 2]; px[i * 4 + 3] = 255;
  }
  return out;
};

/* Tick values of a colour bar: decades (and 2, 5 within them when the span is short) on a log scale. */
IS.barTicks = function (lo, hi, scale) {
  if (scale !== "log") return IS.niceTicks(lo, hi, 5);
  const out = [], e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
  const mult = e1 - e0 <= 2 ? [1, 2, 5] : [1];
  for (let e = e0; e <= e1; e++) for (const m of mult) { const v = m * Math.pow(10, e); if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v); }
  return out.length ? out : [lo, hi];
};

/* A vertical colour bar with ticks in the map's unit (high values at the top). */
IS.drawColourBar = function (canvas, lo, hi, scale, unit) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height, top = 10, bottom = H - 28, x0 = 6, bw = 18;
  ctx.clearRect(0, 0, W, H); ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
  for (let y = top; y <= bottom; y++) {
    const k = Math.round((bottom - y) / (bottom - top) * 255) * 3, lut = IS.VIRIDIS;
    ctx.fillStyle = `rgb(${lut[k]},${lut[k + 1]},${lut[k + 2]})`; ctx.fillRect(x0, y, bw, 1);
  }
  ctx.strokeStyle = "#888"; ctx.strokeRect(x0, top, bw, bottom - top);
  ctx.fillStyle = "#222"; ctx.font = "11px sans-serif"; ctx.textAlign = "left";
  const f = IS.scaleMap(lo, hi, scale), ticks = hi > lo ? IS.barTicks(lo, hi, scale) : [lo];
  for (const t of ticks) {
    const y = bottom - Math.max(0, Math.min(1, hi > lo ? f(t) : 0.5)) * (bottom - top);
    ctx.fillRect(x0 + bw, y, 4, 1); ctx.fillText(IS.fmt(t), x0 + bw + 6, y + 4);
  }
  ctx.textAlign = "center"; ctx.font = "11px sans-serif";
  ctx.fillText(`${IS.unitText(unit)}${scale === "log" ? " (log)" : ""}`, W / 2, H - 8);
  canvas.dataset.unit = unit; canvas.dataset.scale = scale; canvas.dataset.ticks = ticks.length;
};
