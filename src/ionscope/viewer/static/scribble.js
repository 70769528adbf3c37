/* ionscope viewer: Label mode of the Volume view.
   Scribble classes on any slice (z, y or x), keep the strokes while moving between slices, undo, and
   save them as the label file `ionscope tomo train --labels` reads (the server rasterises the strokes;
   see ionscope.viewer.scribble). Uses the helpers of app.js (api, getJSON, getImage, postJSON, el, $). */
"use strict";
(function () {
  const S = window.ionscope;
  const PALETTE = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#ffff33", "#a65628", "#f781bf"];
  const PLANES = { z: ["y", "x"], y: ["z", "x"], x: ["z", "y"] };
  const rgb = hex => [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
  /* Distance from (x, y) to a stroke's polyline (flat [x0, y0, x1, y1, …]), in voxels. */
  function distance(x, y, pts) {
    if (pts.length === 2) return Math.hypot(x - pts[0], y - pts[1]);
    let best = Infinity;
    for (let i = 0; i + 3 < pts.length; i += 2) {
      const ax = pts[i], ay = pts[i + 1], dx = pts[i + 2] - ax, dy = pts[i + 3] - ay, l2 = dx * dx + dy * dy;
      const t = l2 > 0 ? Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / l2)) : 0;
      best = Math.min(best, Math.hypot(x - ax - t * dx, y - ay - t * dy));
    }
    return best;
  }
  /* Where a stroke drawn on another orientation crosses the slice `index` along `axis`: the voxels of
     that slice (as [row, col] of its plane) that the server will label — the stroke's swept disc cut
     along the line where the two slices meet. */
  function crossing(s, axis, index, n) {
    const [rA, cA] = PLANES[s.axis], other = rA === axis ? cA : rA, along = rA === axis ? 1 : 0;
    const c = index + 0.5, pts = s.points;
    let lo = Infinity, hi = -Infinity;
    for (let i = along; i < pts.length; i += 2) { lo = Math.min(lo, pts[i]); hi = Math.max(hi, pts[i]); }
    if (c < lo - s.radius || c > hi + s.radius) return [];
    const [rB] = PLANES[axis], cells = [];
    for (let o = 0; o < n[other]; o++) {
      const x = along === 0 ? c : o + 0.5, y = along === 0 ? o + 0.5 : c;
      if (distance(x, y, pts) <= s.radius) cells.push(rB === s.axis ? [s.index, o] : [o, s.index]);
    }
    return cells;
  }

  const lb = S.scribble = {
    vo: null, id: null, classes: [], strokes: [], base: "none", info: null, cache: {}, drawing: null,

    on() { return $("lb-on").checked; },
    tool() { return document.querySelector('input[name="lb-tool"]:checked').value; },
    radius() { return +$("lb-radius").value; },
    planeShape(axis) { const [r, c] = PLANES[axis]; return [this.vo.n[r], this.vo.n[c]]; },

    /* A new volume in the Volume view: wire its panels, forget the strokes of the previous one. */
    attach(vo) {
      this.vo = vo;
      if (this.id !== vo.id) { this.strokes = []; this.base = "none"; this.cache = {}; this.info = null; }
      this.id = vo.id;
      for (const [axis, p] of Object.entries(vo.panels || {})) {
        if (p.canvas._scribble) continue;
        p.canvas._scribble = true;
        p.canvas.addEventListener("pointerdown", e => this.down(axis, p.canvas, e));
        p.canvas.addEventListener("pointermove", e => this.move(p.canvas, e));
        for (const ev of ["pointerup", "pointercancel", "lostpointercapture"]) p.canvas.addEventListener(ev, () => this.up());
      }
      guard(() => this.refreshInfo())();
      this.updateUi();
    },

    async refreshInfo() {
      const id = this.id;
      const info = await getJSON(`/api/datasets/${id}/scribbles`);
      if (id !== this.id) return;
      this.info = info;
      this.updateUi();
    },

    pos(canvas, e, axis) {
      const r = canvas.getBoundingClientRect(), [rows, cols] = this.planeShape(axis);
      const x = Math.min(cols, Math.max(0, (e.clientX - r.left) / r.width * cols));
      const y = Math.min(rows, Math.max(0, (e.clientY - r.top) / r.height * rows));
      return [Math.round(x * 100) / 100, Math.round(y * 100) / 100];
    },

    down(axis, canvas, e) {
      if (!this.on() || e.button !== 0) return;
      const erase = this.tool() === "erase", code = +$("lb-class").value;
      if (!erase && !(code >= 1)) { setStatus("add a class first (name and colour), then draw", true); return; }
      e.preventDefault();
      try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* synthetic events */ }
      const [x, y] = this.pos(canvas, e, axis);
      this.drawing = { axis, canvas, stroke: { axis, index: +this.vo.idx[axis], class: erase ? 0 : code,
        radius: this.radius(), points: [x, y] } };
      this.strokes.push(this.drawing.stroke);
      this.paint(axis);
    },

    move(canvas, e) {
      const d = this.drawing;
      if (!d || d.canvas !== canvas) return;
      const [x, y] = this.pos(canvas, e, d.axis), pts = d.stroke.points, n = pts.length;
      if (Math.hypot(x - pts[n - 2], y - pts[n - 1]) < Math.max(0.5, d.stroke.radius / 2)) return;
      pts.push(x, y);
      this.paint(d.axis);
    },

    up() {
      if (!this.drawing) return;
      this.drawing = null;
      this.updateUi();
      this.paintAll();
    },

    undo() {
      const s = this.strokes.pop();
      if (!s) { setStatus("nothing to undo (saved strokes are in the label file)"); return; }
      this.updateUi();
      this.paintAll();
    },

    colour(code) { const c = this.classes[code - 1]; return c ? c.colour : "#808080"; },

    /* The saved labels of one slice as a canvas of class colours (transparent where unlabelled). */
    async fetchBase(axis, index) {
      const key = `${axis}:${index}`;
      this.cache[key] = { pending: true };
      try {
        const g = await getImage(`/api/datasets/${this.id}/scribbles-slice?${qs({ axis, index })}`);
        const [h, w] = g.shape, img = new ImageData(w, h), px = img.data;
        const lut = this.classes.map(c => rgb(c.colour));
        for (let i = 0; i < w * h; i++) {
          const v = g.data[i];
          if (v > 0) { const c = lut[v - 1] || [128, 128, 128]; px[i * 4] = c[0]; px[i * 4 + 1] = c[1]; px[i * 4 + 2] = c[2]; px[i * 4 + 3] = 255; }
        }
        const off = el("canvas"); off.width = w; off.height = h; off.getContext("2d").putImageData(img, 0, 0);
        this.cache[key] = { img: off };
      } catch (e) {
        this.cache[key] = { missing: true };
      }
      if (+this.vo.idx[axis] === index) this.paint(axis);
    },

    /* Repaint one panel: the grey slice as drawn by the Volume view, then the labels, semi-transparent. */
    paint(axis) {
      const vo = this.vo, p = vo && vo.panels && vo.panels[axis];
      if (!p || !p.canvas._base) return;
      const c = p.canvas, ctx = c.getContext("2d"), index = +vo.idx[axis];
      ctx.globalAlpha = 1; ctx.globalCompositeOperation = "source-over";
      ctx.clearRect(0, 0, c.width, c.height); ctx.drawImage(c._base, 0, 0);
      const mine = this.strokes.filter(s => s.axis === axis && s.index === index);
      c.dataset.strokes = mine.length;
      let crossed = 0;
      if (!this.on()) return;
      const layer = el("canvas"); layer.width = c.width; layer.height = c.height;
      const lc = layer.getContext("2d");
      if (this.base === "file") {
        const b = this.cache[`${axis}:${index}`];
        if (!b) this.fetchBase(axis, index);
        else if (b.img) { lc.imageSmoothingEnabled = false; lc.drawImage(b.img, 0, 0, c.width, c.height); }
      }
      const [rows, cols] = this.planeShape(axis);
      lc.save(); lc.scale(c.width / cols, c.height / rows);
      lc.lineCap = "round"; lc.lineJoin = "round";
      for (const s of this.strokes) {
        if (s.axis === axis && s.index !== index) continue;
        lc.globalCompositeOperation = s.class === 0 ? "destination-out" : "source-over";
        lc.strokeStyle = lc.fillStyle = s.class === 0 ? "#000" : this.colour(s.class);
        if (s.axis !== axis) {  // drawn on another orientation: the voxels where it crosses this slice
          const cells = crossing(s, axis, index, vo.n);
          for (const [r, col] of cells) lc.fillRect(col, r, 1, 1);
          crossed += cells.length;
          continue;
        }
        lc.lineWidth = 2 * s.radius;
        const pts = s.points;
        if (pts.length === 2) { lc.beginPath(); lc.arc(pts[0], pts[1], s.radius, 0, 2 * Math.PI); lc.fill(); continue; }
        lc.beginPath(); lc.moveTo(pts[0], pts[1]);
        for (let i = 2; i < pts.length; i += 2) lc.lineTo(pts[i], pts[i + 1]);
        lc.stroke();
      }
      lc.restore();
      c.dataset.crossed = crossed;
      ctx.globalAlpha = Math.max(0.15, +$("vo-opacity").value / 100);
      ctx.drawImage(layer, 0, 0);
      ctx.globalAlpha = 1;
    },

    paintAll() { for (const a of ["z", "y", "x"]) this.paint(a); },

    addClass() {
      const name = $("lb-new-name").value.trim() || `class ${this.classes.length + 1}`;
      if (this.classes.some(c => c.name === name)) { setStatus(`there is already a class ${name}`, true); return; }
      if (name.includes(",") || name.toLowerCase() === "unlabelled") { setStatus("a class name may not contain commas or be 'unlabelled'", true); return; }
      this.classes.push({ name, colour: $("lb-new-colour").value });
      $("lb-new-name").value = "";
      $("lb-new-colour").value = PALETTE[this.classes.length % PALETTE.length];
      this.updateUi(this.classes.length);
    },

    updateUi(select) {
      $("lb-tools").hidden = !this.on();
      const sel = $("lb-class"), keep = select || +sel.value || 1;
      sel.replaceChildren();
      this.classes.forEach((c, i) => {
        const o = el("option", { value: i + 1 }, `${i + 1}: ${c.name}`);
        o.style.color = c.colour; sel.append(o);
      });
      if (this.classes.length) sel.value = Math.min(keep, this.classes.length);
      const leg = $("lb-legend"); leg.replaceChildren();
      this.classes.forEach((c, i) => {
        const li = el("li"), sw = el("span", { className: "swatch" });
        sw.style.background = c.colour; li.append(sw, document.createTextNode(`${c.name} (${i + 1})`)); leg.append(li);
      });
      $("lb-radius-val").textContent = this.radius();
      const info = this.info, out = $("lb-info");
      const file = info ? `${info.path}${info.exists ? (this.base === "file" ? " (loaded)" : " (exists: Load to continue it)") : " (not saved yet)"}` : "";
      out.textContent = `${this.strokes.length} unsaved stroke(s) · label file ${file}`;
      out.dataset.strokes = this.strokes.length;
      $("lb-undo").disabled = !this.strokes.length;
      $("lb-load").disabled = !(info && info.exists);
    },

    async load() {
      const info = this.info = await getJSON(`/api/datasets/${this.id}/scribbles`);
      if (!info.exists) { setStatus(`no labels saved for this stack yet (${info.path})`, true); this.updateUi(); return; }
      if (info.error) { setStatus(info.error, true); return; }
      if (this.strokes.length && !window.confirm(`Discard your ${this.strokes.length} unsaved stroke(s) and load ${info.path}?`)) return;
      this.classes = info.classes.map((name, i) => ({ name, colour: info.colours[i] }));
      this.strokes = []; this.base = "file"; this.cache = {};
      setStatus(`loaded ${info.path}: ${this.classes.map(c => c.name).join(", ")}`);
      this.updateUi(1); this.paintAll();
    },

    async save(overwrite = false) {
      if (!this.classes.length) { setStatus("add a class and draw strokes before saving", true); return; }
      const body = { classes: this.classes, strokes: this.strokes, base: this.base, overwrite };
      let r;
      try {
        r = await postJSON(`/api/datasets/${this.id}/scribbles`, body);
      } catch (e) {
        if (e.status === 409 && !overwrite) {
          const what = this.base === "file" ? "the saved labels with your new strokes" : "your strokes only (the labels saved there are lost)";
          if (window.confirm(`${e.message}\nReplace it with ${what}?`)) return this.save(true);
          setStatus("not saved: the label file was kept as it was");
          return;
        }
        throw e;
      }
      this.base = "file"; this.strokes = []; this.cache = {};
      if (this.info) this.info.exists = true;
      const counts = Object.entries(r.voxels).map(([k, v]) => `${k} ${v}`).join(", ");
      setStatus(`saved ${r.path} (${counts} voxels)${r.warnings.length ? " — " + r.warnings.join("; ") : ""}`, r.warnings.length > 0);
      $("lb-info").dataset.saved = r.path;
      this.updateUi(); this.paintAll();
    },
  };

  for (const k of ["save", "load"]) lb[k] = guard(lb[k].bind(lb));
  $("lb-on").addEventListener("change", () => { lb.updateUi(); lb.paintAll(); });
  $("lb-add").addEventListener("click", () => lb.addClass());
  $("lb-new-name").addEventListener("keydown", e => { if (e.key === "Enter") lb.addClass(); });
  $("lb-undo").addEventListener("click", () => lb.undo());
  $("lb-save").addEventListener("click", () => lb.save());
  $("lb-load").addEventListener("click", () => lb.load());
  $("lb-radius").addEventListener("input", () => lb.updateUi());
  $("vo-opacity").addEventListener("input", () => lb.paintAll());
  document.addEventListener("keydown", e => {
    if (lb.on() && S.view === "volume" && (e.ctrlKey || e.metaKey) && e.key === "z") { e.preventDefault(); lb.undo(); }
  });
  if (S.views.volume.panels) lb.attach(S.views.volume);  // the volume was opened before this script ran
})();
