"use strict";
/* Results catalogue page: filters → table; a row → the result, its tier and provenance. */
const TOKEN = document.querySelector('meta[name="ionscope-token"]').content;
const $ = (id) => document.getElementById(id);

async function getJSON(path) {
  const r = await fetch(path, { headers: { "X-Ionscope-Token": TOKEN } });
  const body = await r.json();
  if (!r.ok) throw new Error((body.error && body.error.message) || r.statusText);
  return body;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

async function load() {
  const form = new FormData($("filters"));
  const q = new URLSearchParams();
  for (const [k, v] of form.entries()) if (v) q.set(k, v);
  $("status").textContent = "loading…";
  try {
    const data = await getJSON(`/api/catalog?${q}`);
    const body = document.querySelector("#entries tbody");
    body.replaceChildren();
    for (const e of data.entries) {
      const tr = document.createElement("tr");
      tr.tabIndex = 0;
      tr.dataset.id = e.id;
      tr.append(cell(e.id), cell(e.kind), cell(e.tier, `tier-${e.tier}`), cell(e.material), cell(e.sample),
                cell((e.created || "").slice(0, 19)), cell(e.inputs.join(", ")));
      tr.addEventListener("click", () => show(e.id));
      tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") show(e.id); });
      body.append(tr);
    }
    $("count").textContent = data.available ? `${data.entries.length} shown of ${data.count} entries`
                                            : `no catalogue: ${data.message}`;
    $("status").textContent = "";
  } catch (err) {
    $("status").textContent = err.message;
  }
}

async function show(id) {
  document.querySelectorAll("#entries tbody tr").forEach(tr => tr.classList.toggle("selected", tr.dataset.id === String(id)));
  try {
    const d = await getJSON(`/api/catalog/${id}`);
    const rel = d.reliability || { tier: "unknown", reasons: [] };
    $("detail-title").textContent = `entry ${d.id}: ${d.kind} (${d.inputs.map(i => i.name).join(", ")})`;
    $("detail-tier").textContent = `Reliability: tier ${rel.tier}`;
    $("detail-tier").className = `tier-${rel.tier}`;
    const ul = $("detail-reasons");
    ul.replaceChildren();
    for (const r of rel.reasons || []) {
      const li = document.createElement("li");
      li.textContent = `${r.tier}: ${r.message} (${r.reference})`;
      ul.append(li);
    }
    const ds = $("detail-dataset");
    ds.replaceChildren();
    if (d.dataset) {
      const a = document.createElement("a");
      a.href = `/#dataset=${encodeURIComponent(d.dataset)}`;
      a.textContent = "open its dataset in the viewer";
      ds.append(a);
    } else {
      ds.textContent = "its input is not among the datasets this viewer was started with";
    }
    $("detail-results").textContent = JSON.stringify(d.results, null, 1);
    $("detail-parameters").textContent = JSON.stringify(d.parameters, null, 1);
    $("detail-provenance").textContent = JSON.stringify(d.provenance, null, 1);
    $("detail").hidden = false;
  } catch (err) {
    $("status").textContent = err.message;
  }
}

$("filters").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
load();
