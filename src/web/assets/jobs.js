// Current jobs: a Gantt timeline of runs, live, zoomable by dragging, with dependency edges and
// the critical path of the latest round on demand.
"use strict";
(() => {
  const { el, api, duration, tip, colors, onChange, loader, classify, wanted, parts, zone, time } = duro;
  const body = document.body;
  const fixed = body.dataset.fixed === "1";
  let from = Date.parse(body.dataset.from), to = Date.parse(body.dataset.to);
  const box = document.getElementById("timeline");
  const showDeps = document.getElementById("show-deps");
  let jobs = [], edges = null;

  const legend = document.getElementById("legend");
  for (const [name, color] of Object.entries(colors)) {
    legend.append(el("span", {}, el("span", { class: "swatch", style: `background:${color}` }), name.replace("_", " ")));
  }

  async function load() {
    if (!fixed) { to = Date.now(); from = to - 30 * 60 * 1000; }
    const q = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    const kind = wanted();
    const [runs, graph, tables, sched] = await Promise.all([api(`/api/jobs?${q}`),
      showDeps.checked || kind ? api("/api/graph") : null,
      kind ? api("/api/tables") : null, kind ? api("/api/schedule") : null]);
    if (graph) edges = graph.edges;
    const only = kind ? classify(tables, graph, sched).sets[kind] : null;
    jobs = fold(only ? runs.filter((j) => only.has(j.table)) : runs);
    draw();
  }

  // Repeated identical failures of a table (one after another, same outcome and error) fold into
  // one entry with a count: from the first one's start to the last one's finish.
  function fold(runs) {
    const out = [], last = new Map();
    for (const j of runs) {
      const prev = last.get(j.table);
      if (prev && j.finish && prev.finish && j.outcome && j.outcome !== "success" && j.outcome === prev.outcome && (j.error || "") === (prev.error || "")) {
        prev.count += 1;
        prev.finish = j.finish;
        continue;
      }
      const copy = { ...j, count: 1 };
      out.push(copy);
      last.set(j.table, copy);
    }
    return out;
  }

  function niceStep(span) {
    const steps = [1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);
    return steps.find((s) => span / s <= 10) || 86400000 * Math.ceil(span / 86400000 / 10);
  }

  function draw() {
    const now = Date.now();
    const end = (j) => (j.finish ? Date.parse(j.finish) : now);
    let domainEnd = to;
    if (!fixed) for (const j of jobs) if (j.estimated_finish) domainEnd = Math.max(domainEnd, Date.parse(j.estimated_finish));
    const rows = [];
    const rowOf = new Map();
    for (const j of jobs) if (!rowOf.has(j.table)) { rowOf.set(j.table, rows.length); rows.push(j.table); }
    const narrow = box.clientWidth < 560;
    const labelWidth = narrow ? 120 : 230, rowHeight = 26, top = 28, maxLabel = narrow ? 16 : 32;
    const width = Math.max(box.clientWidth - 2, narrow ? 300 : 600), plot = width - labelWidth - 16;
    const height = top + Math.max(rows.length, 1) * rowHeight + 10;
    const x = (t) => labelWidth + ((Math.min(Math.max(t, from), domainEnd) - from) / (domainEnd - from)) * plot;
    const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}` });
    const step = niceStep(domainEnd - from);
    for (let t = Math.ceil(from / step) * step; t <= domainEnd; t += step) {
      const [day, clock] = parts(t);
      const label = step < 60000 ? clock : step >= 86400000 ? day.slice(5) : clock.slice(0, 5);
      svg.append(el("line", { class: "grid-line", x1: x(t), x2: x(t), y1: top - 6, y2: height }));
      svg.append(el("text", { class: "tick", x: x(t) + 3, y: 14, text: label }));
    }
    if (!fixed || (now >= from && now <= domainEnd)) svg.append(el("line", { class: "now", x1: x(now), x2: x(now), y1: top - 6, y2: height }));
    rows.forEach((table, i) => {
      const y = top + i * rowHeight;
      const label = el("text", { class: "row-label", x: labelWidth - 8, y: y + 17, "text-anchor": "end", text: table.length > maxLabel ? `${table.slice(0, maxLabel - 1)}…` : table });
      label.addEventListener("click", () => { window.location.href = `/tables/${encodeURIComponent(table)}`; });
      svg.append(label, el("line", { class: "grid-line", x1: labelWidth, x2: width, y1: y + rowHeight, y2: y + rowHeight }));
    });
    if (!jobs.length) svg.append(el("text", { class: "empty", x: labelWidth + 10, y: top + 18, text: "No runs in this window." }));
    const geometry = new Map();
    for (const j of jobs) {
      const y = top + rowOf.get(j.table) * rowHeight + 4;
      const x0 = x(Date.parse(j.start)), x1 = Math.max(x(end(j)), x0 + 2);
      const state = j.outcome || "running";
      const bar = el("rect", { class: `bar ${state}${j.count > 1 ? " folded" : ""}`, x: x0, y, width: x1 - x0, height: rowHeight - 8, fill: colors[state] || colors.cancelled, "data-count": j.count });
      const z = zone(Date.parse(j.start));
      tip(bar, () => {
        const lines = [j.table, j.count > 1 ? `${state} ×${j.count} in a row, the same error` : `${state}  ${duration((end(j) - Date.parse(j.start)) / 1000)}`,
          `${j.count > 1 ? "first start" : "start"} ${time(j.start)} ${z}`];
        if (j.finish) lines.push(`${j.count > 1 ? "last finish" : "finish"} ${time(j.finish)} ${z}`);
        if (j.estimated_finish) lines.push(`estimated finish ${time(j.estimated_finish)} ${z}`);
        if (j.error) lines.push(j.error.split("\n")[0].slice(0, 200));
        return lines.join("\n");
      });
      bar.addEventListener("click", () => { window.location.href = `/tables/${encodeURIComponent(j.table)}`; });
      svg.append(bar);
      if (j.count > 1) svg.append(el("text", { class: "fold-count", x: x1 + 4, y: y + rowHeight - 13, text: `×${j.count}` }));
      if (!j.finish && j.estimated_finish) {
        const xe = x(Date.parse(j.estimated_finish));
        if (xe > x1) svg.append(el("rect", { class: "estimate", x: x1, y, width: xe - x1, height: rowHeight - 8 }));
      }
      geometry.set(j.id, { x0, x1, y: y + (rowHeight - 8) / 2 });
    }
    if (showDeps.checked && edges) drawDependencies(svg, geometry, end);
    addZoom(svg, labelWidth, plot, height, domainEnd);
    box.replaceChildren(svg);
    const span = duration((domainEnd - from) / 1000);
    const at = (t) => { const [day, clock] = parts(t); return `${day} ${clock.slice(0, 5)}`; };
    const runs = jobs.reduce((n, j) => n + j.count, 0);
    const kind = wanted();
    document.getElementById("window").textContent =
      `${at(from)} → ${at(to)} ${zone(to)} (${span}), ${runs} runs${kind ? `, only ${kind === "upstream" ? "upstream failed" : kind} tables` : ""}`;
  }

  // For each run, the runs of its dependencies that finished before it started.
  function drawDependencies(svg, geometry, end) {
    const deps = new Map();
    for (const [dep, consumer] of edges) {
      if (!deps.has(consumer)) deps.set(consumer, []);
      deps.get(consumer).push(dep);
    }
    const byTable = new Map();
    for (const j of jobs) { if (!byTable.has(j.table)) byTable.set(j.table, []); byTable.get(j.table).push(j); }
    const feeding = (j) => (deps.get(j.table) || [])
      .map((t) => (byTable.get(t) || []).filter((d) => end(d) <= Date.parse(j.start) + 1000).pop())
      .filter(Boolean);
    for (const j of jobs) {
      const to_ = geometry.get(j.id);
      for (const d of feeding(j)) {
        const from_ = geometry.get(d.id);
        svg.append(el("path", { class: "edge", d: `M${from_.x1},${from_.y} C${from_.x1 + 20},${from_.y} ${to_.x0 - 20},${to_.y} ${to_.x0},${to_.y}` }));
      }
    }
    // Critical path: from the run that ends last, back through the dependency that ended last.
    let last = null;
    for (const j of jobs) {
      const e = j.estimated_finish ? Date.parse(j.estimated_finish) : end(j);
      if (!last || e > last.e) last = { j, e };
    }
    const seen = new Set();
    for (let cur = last && last.j; cur && !seen.has(cur.id);) {
      seen.add(cur.id);
      const g = geometry.get(cur.id);
      svg.append(el("rect", { class: "critical", x: g.x0 - 1, y: g.y - 10, width: g.x1 - g.x0 + 2, height: 20 }));
      const prev = feeding(cur).sort((a, b) => end(b) - end(a))[0];
      if (prev) {
        const p = geometry.get(prev.id);
        svg.append(el("path", { class: "critical", d: `M${p.x1},${p.y} L${g.x0},${g.y}` }));
      }
      cur = prev;
    }
  }

  function addZoom(svg, left, plot, height, domainEnd) {
    let start = null, selection = null;
    const toTime = (px) => from + ((px - left) / plot) * (domainEnd - from);
    const point = (e) => { const r = svg.getBoundingClientRect(); return Math.min(Math.max(e.clientX - r.left, left), left + plot); };
    svg.addEventListener("mousedown", (e) => {
      if (e.target.classList.contains("bar")) return;
      start = point(e);
      selection = el("rect", { class: "selection", x: start, y: 0, width: 0, height });
      svg.append(selection);
      window.addEventListener("mouseup", finish, { once: true });
    });
    svg.addEventListener("mousemove", (e) => {
      if (start === null) return;
      const p = point(e);
      selection.setAttribute("x", Math.min(start, p));
      selection.setAttribute("width", Math.abs(p - start));
    });
    function finish(e) {
      if (start === null) return;
      const p = point(e), a = Math.min(start, p), b = Math.max(start, p);
      start = null;
      if (b - a < 6) { selection.remove(); return; }
      const q = new URLSearchParams({ from: new Date(toTime(a)).toISOString(), to: new Date(toTime(b)).toISOString() });
      if (wanted()) q.set("attention", wanted());
      window.location.href = `/?${q}`;
    }
  }

  // "Live" keeps the attention filter.
  const liveLink = document.getElementById("live");
  if (liveLink && wanted()) liveLink.href = `/?attention=${encodeURIComponent(wanted())}`;

  const refresh = loader("the runs", load);
  showDeps.addEventListener("change", refresh);
  onChange(refresh);
  window.addEventListener("resize", draw);
  if (!fixed) {
    setInterval(refresh, 10000);
    setInterval(() => { if (jobs.some((j) => !j.finish)) draw(); }, 1000);
  }
  refresh();
})();
