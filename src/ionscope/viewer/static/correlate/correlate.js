// Correlative pair page: blend slider and landmark picking (positions in each image's µm).
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const withToken = (path) => `${path}?token=${encodeURIComponent(token)}`;
const pairs = [];
let pending = null; // fixed position waiting for its moving partner
let meta = null;

function toMicrons(event, img, extent) {
  const r = img.getBoundingClientRect();
  const fx = (event.clientX - r.left) / r.width, fy = (event.clientY - r.top) / r.height;
  return [extent[0] + fx * (extent[1] - extent[0]), extent[2] + fy * (extent[3] - extent[2])];
}

function mark(container, img, extent, xy, label) {
  const m = document.createElement("div");
  m.className = "mark";
  m.style.left = `${(100 * (xy[0] - extent[0])) / (extent[1] - extent[0])}%`;
  m.style.top = `${(100 * (xy[1] - extent[2])) / (extent[3] - extent[2])}%`;
  const s = document.createElement("span");
  s.textContent = label;
  m.appendChild(s);
  container.appendChild(m);
}

function redraw() {
  for (const id of ["pick-fixed", "pick-moving"]) {
    document.querySelectorAll(`#${id} .mark`).forEach((m) => m.remove());
  }
  const body = document.getElementById("pairs");
  body.replaceChildren();
  pairs.forEach((p, i) => {
    mark(document.getElementById("pick-fixed"), null, meta.fixed_extent_um, p.fixed, String(i + 1));
    mark(document.getElementById("pick-moving"), null, meta.moving_extent_um, p.moving, String(i + 1));
    const tr = document.createElement("tr");
    for (const v of [i + 1, ...p.fixed, ...p.moving]) {
      const td = document.createElement("td");
      td.textContent = typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : String(v);
      tr.appendChild(td);
    }
    const del = document.createElement("button");
    del.type = "button";
    del.textContent = "remove";
    del.addEventListener("click", () => { pairs.splice(i, 1); redraw(); });
    const td = document.createElement("td");
    td.appendChild(del);
    tr.appendChild(td);
    body.appendChild(tr);
  });
  if (pending) mark(document.getElementById("pick-fixed"), null, meta.fixed_extent_um, pending, "?");
}

function status(text) { document.getElementById("status").textContent = text; }

async function main() {
  const res = await fetch(withToken("/api/meta"));
  meta = await res.json();
  for (const [id, name] of [["img-fixed", "fixed"], ["img-moving", "moving"], ["blend-fixed", "fixed"]]) {
    document.getElementById(id).src = withToken(`/img/${name}.png`);
  }
  if (meta.registered) {
    const warped = document.getElementById("blend-warped");
    warped.src = withToken("/img/warped.png");
    const slider = document.getElementById("blend");
    const apply = () => { warped.style.opacity = String(slider.value / 100); };
    slider.addEventListener("input", apply);
    apply();
  } else {
    document.getElementById("blend-section").hidden = true;
  }
  document.getElementById("img-fixed").addEventListener("click", (e) => {
    pending = toMicrons(e, e.target, meta.fixed_extent_um);
    status("now click the same feature on the moving image");
    redraw();
  });
  document.getElementById("img-moving").addEventListener("click", (e) => {
    if (!pending) { status("click the fixed image first"); return; }
    pairs.push({ fixed: pending, moving: toMicrons(e, e.target, meta.moving_extent_um) });
    pending = null;
    status(`${pairs.length} pair(s); save writes ${meta.landmarks_file}`);
    redraw();
  });
  document.getElementById("save").addEventListener("click", async () => {
    const r = await fetch("/api/landmarks", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Ionscope-Token": token },
      body: JSON.stringify(pairs),
    });
    const doc = await r.json();
    status(r.ok ? `saved ${doc.saved} pair(s) to ${doc.path}` : `not saved: ${doc.error.message}`);
  });
  status(meta.registered ? "registered pair: move the slider to blend" : "unregistered pair: pick landmarks");
}

main().catch((err) => status(`error: ${err}`));
