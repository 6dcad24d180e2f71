// Current jobs: a Gantt timeline of runs that stays fast at hundreds of tables and a week of runs.
// The window is live (it follows now with a span, `?span=6h`, 30 minutes by default) or fixed
// (`?from=&to=`); the presets, "Zoom out" (twice as wide around its centre) and dragging across
// the timeline (zoom in) change it. The rows are the tables with runs in the window, sorted by
// name, under schema headings with `?group=schema`, filtered by `?q=` and the attention chips.
//
// Only the rows near the viewport are drawn, and only their runs fetched: a summary of the window
// (`/api/jobs?summary=1`, a line per table) lays out the rows, `/api/jobs?tables=` brings the runs
// of the rows drawn, which are kept until the summary says the table's runs changed. The time
// axis is its own SVG, sticky under the header while the page scrolls. Dependency edges and the
// critical path of the latest round on demand.
"use strict";
(() => {
  const { el, svg, api, duration, tip, colors, onChange, loader, classify, wanted, parts, zone, time, utc } = duro;
  // Rows are ROW px high; OVERSCAN rows are drawn above and below the viewport, so a scroll of
  // less than that redraws nothing. A row of more than DENSE runs draws most as paths (see
  // tableRow). Beyond MAX_EDGES dependency edges only the latest are drawn, and the window
  // does not zoom out beyond MAX_SPAN.
  const ROW = 26, AXIS = 28, OVERSCAN = 15, DENSE = 40, MAX_EDGES = 1000, MAX_SPAN = 28 * 86400000;
  const DEFAULT_SPAN = 30 * 60000;
  const box = document.getElementById("timeline");
  const showDeps = document.getElementById("show-deps");
  const search = document.getElementById("job-search");
  const group = document.getElementById("group-schema");
  const windowText = document.getElementById("window");
  const fixed = document.body.dataset.fixed === "1";
  const params = new URLSearchParams(window.location.search);
  const span = parseSpan(params.get("span")) || DEFAULT_SPAN;
  let from = Date.parse(document.body.dataset.from), to = Date.parse(document.body.dataset.to);
  search.value = params.get("q") || "";
  group.checked = params.get("group") === "schema";

  let summary = new Map(); // table → { table, runs, running, last, end }, from the server
  let view = []; // the rows shown, in order: a table's summary, or a heading { heading, count }
  let rowIndex = new Map(); // table → its row in `view`
  let only = null; // the tables of the attention chip
  let deps = new Map(); // table → the tables it reads, when the dependencies are shown
  let version = 0; // bumps with every summary
  const held = new Map(); // table → { runs (folded), sig, version } of its latest fetch
  const pending = new Map(); // table → the summary version its fetch in flight was made for
  let geo = null; // the scale and sizes of the last draw
  let drawn = { first: 0, last: 0 };
  let rowsSvg = null, rowLayer = null, depLayer = null, nowLines = [], ticking = [];
  // For the tests and BENCHMARKS.md: what the last draws took.
  const stats = (window.duroJobs = { draws: 0, ms: 0, rowDraws: 0, rowMs: 0, fetches: 0, bars: 0 });

  const legend = document.getElementById("legend");
  for (const [name, color] of Object.entries(colors)) {
    legend.append(el("span", {}, el("span", { class: "swatch", style: `background:${color}` }), name.replace("_", " ")));
  }

  // "90m", "6h", "7d" in milliseconds; null for anything else.
  function parseSpan(text) {
    const m = /^(\d+)(m|h|d)$/.exec(text || "");
    const ms = m ? Number(m[1]) * { m: 60000, h: 3600000, d: 86400000 }[m[2]] : 0;
    return ms >= 60000 && ms <= MAX_SPAN ? ms : null;
  }
  function spanName(ms) {
    if (ms % 86400000 === 0 && ms > 86400000) return `${ms / 86400000}d`;
    if (ms % 3600000 === 0) return `${ms / 3600000}h`;
    return `${Math.round(ms / 60000)}m`;
  }
  const iso = (t) => new Date(t).toISOString();
  const schemaOf = (name) => (name.includes(".") ? name.slice(0, name.indexOf(".")) : "");
  const sig = (r) => `${r.runs}:${r.last}:${r.running}`;
  const windowQuery = () => new URLSearchParams({ from: iso(from), to: iso(to) }).toString();

  // A link to this page with some parameters changed and the others (search, grouping,
  // attention chip) kept.
  function link(changes, path = "/") {
    const q = new URLSearchParams(window.location.search);
    for (const [k, v] of Object.entries(changes)) if (v === null || v === "") q.delete(k); else q.set(k, v);
    const s = q.toString();
    return `${path}${s ? `?${s}` : ""}`;
  }
  function links() {
    for (const a of document.querySelectorAll(".presets .preset")) {
      const ms = parseSpan(a.dataset.span);
      a.href = link({ from: null, to: null, span: ms === DEFAULT_SPAN ? null : a.dataset.span });
      a.classList.toggle("active", !fixed && ms === span);
      if (!fixed && ms === span) a.setAttribute("aria-current", "true"); else a.removeAttribute("aria-current");
    }
    const out = document.getElementById("zoom-out");
    const wider = (fixed ? to - from : span) * 2;
    if (wider > MAX_SPAN) {
      out.removeAttribute("href");
      out.setAttribute("aria-disabled", "true");
      out.title = `The window is at most ${spanName(MAX_SPAN)}`;
    } else if (fixed) {
      const centre = (from + to) / 2;
      out.href = link({ span: null, from: iso(centre - wider / 2), to: iso(centre + wider / 2) });
    } else {
      out.href = link({ from: null, to: null, span: spanName(wider) });
    }
  }

  async function load() {
    // A live window ends at the next multiple of 5 s, so that tabs refreshing on the same change
    // ask the same question (and the server answers it once).
    if (!fixed) { to = Math.ceil(Date.now() / 5000) * 5000; from = to - span; }
    const kind = wanted();
    const [rows, graph, tables, sched] = await Promise.all([api(`/api/jobs?${windowQuery()}&summary=1`),
      showDeps.checked || kind ? api("/api/graph") : null,
      kind ? api("/api/tables") : null, kind ? api("/api/schedule") : null]);
    deps = new Map();
    if (graph && showDeps.checked) {
      for (const [dep, consumer] of graph.edges) {
        if (!deps.has(consumer)) deps.set(consumer, []);
        deps.get(consumer).push(dep);
      }
    }
    only = kind ? classify(tables, graph, sched).sets[kind] : null;
    summary = new Map(rows.map((r) => [r.table, { ...r, end: Date.parse(r.end) }]));
    for (const t of held.keys()) if (!summary.has(t)) held.delete(t);
    version += 1;
    arrange();
    draw();
    await fetchRuns();
  }

  // The rows shown: the tables of the summary that pass the chip and the search, by schema and
  // name (not by first run, so rows keep their places as runs come and go).
  function arrange() {
    const q = search.value.trim().toLowerCase();
    const rows = [...summary.values()]
      .filter((r) => (!only || only.has(r.table)) && (!q || r.table.toLowerCase().includes(q)))
      .map((r) => ({ ...r, schema: schemaOf(r.table) }))
      .sort((a, b) => (a.schema === b.schema ? (a.table < b.table ? -1 : 1) : a.schema < b.schema ? -1 : 1));
    view = [];
    let heading = null;
    for (const r of rows) {
      if (group.checked && (!heading || heading.heading !== r.schema)) {
        heading = { heading: r.schema, count: 0 };
        view.push(heading);
      }
      if (heading) heading.count += 1;
      view.push(r);
    }
    rowIndex = new Map();
    view.forEach((r, i) => { if (r.table) rowIndex.set(r.table, i); });
  }

  // Repeated identical failures of a table (one after another, same outcome and error) fold into
  // one entry with a count: from the first one's start to the last one's finish. Times are parsed
  // once here: s (start), f (finish, null while running), ef (estimated finish).
  function fold(runs) {
    const out = [];
    for (const j of runs) {
      const prev = out[out.length - 1];
      if (prev && j.finish && prev.finish && j.outcome && j.outcome !== "success" && j.outcome === prev.outcome && (j.error || "") === (prev.error || "")) {
        prev.count += 1;
        prev.finish = j.finish;
        prev.f = Date.parse(j.finish);
        continue;
      }
      out.push({ ...j, count: 1, s: Date.parse(j.start), f: j.finish ? Date.parse(j.finish) : null, ef: j.estimated_finish ? Date.parse(j.estimated_finish) : null });
    }
    return out;
  }

  // True when the runs held for the table are those of the current summary (a running table's
  // are fetched again with every summary: its step moves).
  function fresh(table) {
    const h = held.get(table), r = summary.get(table);
    return Boolean(h && r && h.sig === sig(r) && (!r.running || h.version === version));
  }

  // Fetches the runs of the rows drawn (and, with the dependencies shown, of the tables the
  // critical path can pass through) that are not held, or changed since.
  async function fetchRuns() {
    const want = new Set();
    for (let i = drawn.first; i < drawn.last; i++) if (view[i].table) want.add(view[i].table);
    if (showDeps.checked) for (const t of criticalTables()) want.add(t);
    const names = [...want].filter((t) => !fresh(t) && pending.get(t) !== version);
    if (!names.length) return;
    const v = version, sigs = new Map(names.map((t) => [t, sig(summary.get(t))]));
    for (const t of names) pending.set(t, v);
    stats.fetches += 1;
    let list;
    try {
      list = await api(`/api/jobs?${windowQuery()}&tables=${encodeURIComponent(names.join(","))}`);
    } finally {
      for (const t of names) if (pending.get(t) === v) pending.delete(t);
    }
    const byTable = new Map(names.map((t) => [t, []]));
    for (const j of list) if (byTable.has(j.table)) byTable.get(j.table).push(j);
    for (const [t, runs] of byTable) {
      const h = held.get(t);
      if (!h || h.version <= v) held.set(t, { runs: fold(runs), sig: sigs.get(t), version: v });
    }
    drawRows(true);
  }
  let fetchTimer = null;
  const fetchSoon = () => {
    clearTimeout(fetchTimer);
    // A failure shows with the next refresh, whose loader reports it.
    fetchTimer = setTimeout(() => fetchRuns().catch(() => {}), 80);
  };

  // The table whose run ends last among the rows shown, and every table it reads, directly or
  // not, that is shown too: the critical path runs through these.
  function criticalTables() {
    let last = null;
    for (const r of view) if (r.table && (!last || r.end > last.end)) last = r;
    if (!last) return [];
    const seen = new Set([last.table]), todo = [last.table];
    while (todo.length) {
      for (const d of deps.get(todo.pop()) || []) if (!seen.has(d) && rowIndex.has(d)) { seen.add(d); todo.push(d); }
    }
    return [...seen];
  }

  function niceStep(span, ticks) {
    const steps = [1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);
    return steps.find((s) => span / s <= ticks) || 86400000 * Math.ceil(span / 86400000 / ticks);
  }

  // Draws everything: the axis, the grid and the rows near the viewport.
  function draw() {
    const started = performance.now();
    const width = Math.max(box.clientWidth, 280), narrow = width < 560;
    const labelWidth = narrow ? 120 : 230, plot = width - labelWidth - 16;
    let domainEnd = to;
    if (!fixed) for (const r of summary.values()) if (r.running && r.end > domainEnd) domainEnd = r.end;
    const x = (t) => Math.round((labelWidth + ((Math.min(Math.max(t, from), domainEnd) - from) / (domainEnd - from)) * plot) * 10) / 10;
    const height = Math.max(view.length, 1) * ROW + 10;
    geo = { width, labelWidth, plot, domainEnd, x, height, maxLabel: narrow ? 16 : 32 };

    const axis = svg("svg", { class: "axis", width, height: AXIS, viewBox: `0 0 ${width} ${AXIS}` });
    const grid = svg("g", { class: "grid" });
    const step = niceStep(domainEnd - from, Math.max(2, Math.floor(plot / 70)));
    // Ticks on round local times (midnight, the hour), unless the page shows UTC.
    const offset = utc() ? 0 : -new Date(from).getTimezoneOffset() * 60000;
    for (let t = Math.ceil((from + offset) / step) * step - offset; t <= domainEnd; t += step) {
      const [day, clock] = parts(t);
      const label = step < 60000 ? clock : step >= 86400000 || clock.startsWith("00:00") ? day.slice(5) : clock.slice(0, 5);
      axis.append(svg("line", { class: "grid-line", x1: x(t), x2: x(t), y1: AXIS - 6, y2: AXIS }), svg("text", { class: "tick", x: x(t) + 3, y: 14 }, label));
      grid.append(svg("line", { class: "grid-line", x1: x(t), x2: x(t), y1: 0, y2: height }));
    }
    const now = Date.now();
    nowLines = [];
    if (now >= from && now <= domainEnd) {
      nowLines = [svg("line", { class: "now", x1: x(now), x2: x(now), y1: AXIS - 6, y2: AXIS }), svg("line", { class: "now", x1: x(now), x2: x(now), y1: 0, y2: height })];
      axis.append(nowLines[0]);
      grid.append(nowLines[1]);
    }
    rowsSvg = svg("svg", { class: "rows", width, height, viewBox: `0 0 ${width} ${height}` });
    rowLayer = svg("g");
    depLayer = svg("g");
    rowsSvg.append(grid, rowLayer, depLayer);
    if (!view.length) rowsSvg.append(svg("text", { class: "empty", x: labelWidth + 10, y: 18 }, emptyText()));
    box.replaceChildren(axis, rowsSvg, selection);
    drawRows(true);

    const at = (t) => { const [day, clock] = parts(t); return `${day} ${clock.slice(0, 5)}`; };
    const shown = view.filter((r) => r.table);
    const runs = shown.reduce((n, r) => n + r.runs, 0);
    const kind = wanted(), q = search.value.trim();
    windowText.textContent = `${at(from)} → ${at(to)} ${zone(to)} (${duration((to - from) / 1000)}), ${runs} runs of ${shown.length} table${shown.length === 1 ? "" : "s"}`
      + `${kind ? `, only ${kind === "upstream" ? "upstream failed" : kind} tables` : ""}${q ? `, matching “${q}”` : ""}`;
    stats.draws += 1;
    stats.ms = performance.now() - started;
  }

  function emptyText() {
    if (!summary.size) return "No runs in this window.";
    const q = search.value.trim();
    return q ? `No table with runs in this window matches “${q}”.` : "None of these tables has runs in this window.";
  }

  // Draws the rows in and near the viewport, unless those drawn already cover it (`force`: the
  // data changed). True when it drew.
  function drawRows(force = false) {
    if (!geo || !rowsSvg) return false;
    const top = rowsSvg.getBoundingClientRect().top;
    const first = Math.max(0, Math.floor(-top / ROW)), last = Math.min(view.length, Math.ceil((window.innerHeight - top) / ROW));
    if (!force && first >= drawn.first && last <= drawn.last) return false;
    const started = performance.now();
    drawn = { first: Math.max(0, first - OVERSCAN), last: Math.max(0, Math.min(view.length, last + OVERSCAN)) };
    if (drawn.last < drawn.first) drawn.last = drawn.first;
    const layer = svg("g", { class: "row-layer" });
    ticking = [];
    stats.bars = 0;
    for (let i = drawn.first; i < drawn.last; i++) layer.append(view[i].table ? tableRow(view[i], i * ROW) : headingRow(view[i], i * ROW));
    rowLayer.replaceWith(layer);
    rowLayer = layer;
    drawDependencies();
    stats.rowDraws += 1;
    stats.rowMs = performance.now() - started;
    return true;
  }

  function headingRow(h, y) {
    return svg("g", { class: "row schema-row", "data-schema": h.heading },
      svg("rect", { class: "schema-band", x: 0, y, width: geo.width, height: ROW }),
      svg("text", { class: "schema-label", x: 8, y: y + 17 }, `${h.heading || "(no schema)"} · ${h.count} table${h.count === 1 ? "" : "s"}`));
  }

  function tableRow(r, y) {
    const { x, labelWidth, width, maxLabel } = geo;
    const href = `/tables/${encodeURIComponent(r.table)}`;
    const name = group.checked && r.schema ? r.table.slice(r.schema.length + 1) : r.table;
    const row = svg("g", { class: "row", "data-table": r.table },
      svg("a", { href, class: "row-link" }, svg("title", {}, r.table),
        svg("text", { class: "row-label", x: labelWidth - 8, y: y + 17, "text-anchor": "end" }, name.length > maxLabel ? `${name.slice(0, maxLabel - 1)}…` : name)),
      svg("line", { class: "grid-line", x1: labelWidth, x2: width, y1: y + ROW, y2: y + ROW }));
    const h = held.get(r.table);
    if (!h) { row.classList.add("pending"); return row; }
    // One link per row around all its bars (they all lead to the table), one tooltip for them.
    // In a row of many runs the finished, unfolded ones are one path per outcome (a week of
    // hourly runs is 168 bars a row: thousands of elements would make each redraw slow); the
    // others are rects of their own.
    const bars = svg("a", { href, class: "bars", tabindex: -1, "aria-label": `${r.table}: its runs` });
    const runs = h.runs, now = Date.now(), dense = runs.length > DENSE;
    const paths = new Map(), spots = []; // outcome → path data; [x0, x1, run] drawn in paths
    for (let k = 0; k < runs.length; k++) {
      const j = runs[k], end = j.f === null ? now : j.f;
      if (end < from) continue;
      const x0 = x(j.s), x1 = Math.max(x(end), x0 + 2), w = Math.round((x1 - x0) * 10) / 10;
      const state = j.outcome || "running";
      stats.bars += 1;
      if (dense && j.count === 1 && j.f !== null) {
        paths.set(state, `${paths.get(state) || ""}M${x0} ${y + 4}h${w}v${ROW - 8}h${-w}z`);
        spots.push([x0, x1, j]);
        continue;
      }
      const bar = svg("rect", { class: `bar ${state}${j.count > 1 ? " folded" : ""}`, x: x0, y: y + 4, width: w, height: ROW - 8, fill: colors[state] || colors.cancelled, "data-count": j.count, "data-i": k });
      bars.append(bar);
      if (j.count > 1) bars.append(svg("text", { class: "fold-count", x: x1 + 4, y: y + ROW - 13, "data-i": k }, `×${j.count}`));
      if (j.f === null) {
        const estimate = j.ef ? svg("rect", { class: "estimate", y: y + 4, height: ROW - 8, "data-i": k }) : null;
        const label = svg("text", { class: "run-label", y: y + 17, "data-i": k });
        if (estimate) bars.append(estimate);
        bars.append(label);
        const t = { j, x0, bar, estimate, label };
        ticking.push(t);
        tickOne(t, now);
      }
    }
    for (const [state, d] of paths) bars.prepend(svg("path", { class: `bars-path ${state}`, d, fill: colors[state] || colors.cancelled }));
    let hovered = null;
    bars.addEventListener("mousemove", (e) => {
      const i = e.target.getAttribute("data-i");
      if (i !== null) { hovered = runs[i]; return; }
      // Over a path: the last run starting left of the pointer (spots are in start order).
      const px = e.clientX - rowsSvg.getBoundingClientRect().left;
      let lo = 0, hi = spots.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (spots[mid][0] <= px + 0.5) lo = mid + 1; else hi = mid; }
      hovered = lo > 0 ? spots[lo - 1][2] : null;
    });
    tip(bars, () => (hovered ? describe(hovered) : r.table));
    row.append(bars);
    return row;
  }

  // A running bar grows with the clock; its label says for how long and in which step.
  function tickOne(t, now) {
    const { x, width } = geo;
    const x1 = Math.max(x(now), t.x0 + 2);
    t.bar.setAttribute("width", Math.round((x1 - t.x0) * 10) / 10);
    let after = x1;
    if (t.estimate) {
      const xe = Math.max(x(t.j.ef), x1);
      t.estimate.setAttribute("x", x1);
      t.estimate.setAttribute("width", Math.round((xe - x1) * 10) / 10);
      after = xe;
    }
    t.label.textContent = `${duration((now - t.j.s) / 1000)}${t.j.current_step ? ` · ${t.j.current_step}` : ""}`;
    // Right of the bar and its estimate where there is room, else left of its start.
    const right = after + 4 + 110 < width;
    t.label.setAttribute("x", right ? after + 4 : t.x0 - 4);
    t.label.setAttribute("text-anchor", right ? "start" : "end");
  }
  function tick() {
    if (!geo) return;
    const now = Date.now();
    for (const t of ticking) tickOne(t, now);
    for (const line of nowLines) { line.setAttribute("x1", geo.x(now)); line.setAttribute("x2", geo.x(now)); }
  }

  function describe(j) {
    const now = Date.now(), state = j.outcome || "running", end = j.f === null ? now : j.f, z = zone(j.s);
    // Beyond a day the hour alone is ambiguous.
    const at = (t) => (geo && geo.domainEnd - from > 20 * 3600000 ? parts(t).join(" ") : time(t));
    const lines = [j.table, j.count > 1 ? `${state} ×${j.count} in a row, the same error` : `${state}  ${duration((end - j.s) / 1000)}`];
    if (j.f === null && j.current_step) lines.push(`step: ${j.current_step}`);
    lines.push(`${j.count > 1 ? "first start" : "start"} ${at(j.s)} ${z}`);
    if (j.f !== null) lines.push(`${j.count > 1 ? "last finish" : "finish"} ${at(j.f)} ${z}`);
    if (j.ef) lines.push(`estimated finish ${at(j.ef)} ${z}`);
    if (j.error) lines.push(j.error.split("\n")[0].slice(0, 200));
    return lines.join("\n");
  }

  // Where a held run is drawn, or null when its table is not a row shown.
  function place(j) {
    const i = rowIndex.get(j.table);
    if (i === undefined) return null;
    const x0 = geo.x(j.s), x1 = Math.max(geo.x(j.f === null ? Date.now() : j.f), x0 + 2);
    return { x0, x1, y: i * ROW + ROW / 2, i };
  }

  // For each run drawn, the runs of its dependencies that finished before it started (those
  // drawn too); the critical path from the run that ends last, back through the dependency that
  // ended last.
  function drawDependencies() {
    const layer = svg("g", { class: "deps" });
    depLayer.replaceWith(layer);
    depLayer = layer;
    if (!showDeps.checked || !deps.size) return;
    const now = Date.now(), end = (j) => (j.f === null ? now : j.f);
    // The run of `table` that ended last by `t`, runs being in start order.
    const before = (table, t) => {
      const h = rowIndex.has(table) && held.get(table);
      if (!h) return null;
      let lo = 0, hi = h.runs.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (h.runs[mid].s <= t) lo = mid + 1; else hi = mid; }
      for (let i = lo - 1; i >= 0; i--) if (end(h.runs[i]) <= t) return h.runs[i];
      return null;
    };
    const feeding = (j) => (deps.get(j.table) || []).map((t) => before(t, j.s + 1000)).filter(Boolean);
    const isDrawn = (p) => p && p.i >= drawn.first && p.i < drawn.last;
    const edges = [];
    for (let i = drawn.first; i < drawn.last; i++) {
      const h = view[i].table && held.get(view[i].table);
      if (!h) continue;
      for (const j of h.runs) {
        if (end(j) < from) continue;
        const b = place(j);
        for (const d of feeding(j)) {
          const a = place(d);
          if (isDrawn(a)) edges.push([j.s, a, b]);
        }
      }
    }
    if (edges.length > MAX_EDGES) { edges.sort((p, q) => q[0] - p[0]); edges.length = MAX_EDGES; }
    for (const [, a, b] of edges) layer.append(svg("path", { class: "edge", d: `M${a.x1},${a.y} C${a.x1 + 20},${a.y} ${b.x0 - 20},${b.y} ${b.x0},${b.y}` }));
    const [table] = criticalTables();
    let last = null;
    for (const j of (table && held.get(table) ? held.get(table).runs : [])) {
      const e = j.ef || end(j);
      if (!last || e > last.e) last = { j, e };
    }
    const seen = new Set();
    for (let cur = last && last.j; cur && !seen.has(cur.id);) {
      seen.add(cur.id);
      const g = place(cur);
      layer.append(svg("rect", { class: "critical", x: g.x0 - 1, y: g.y - 10, width: g.x1 - g.x0 + 2, height: 20 }));
      const prev = feeding(cur).sort((a, b) => end(b) - end(a))[0];
      if (prev) {
        const p = place(prev);
        layer.append(svg("path", { class: "critical", d: `M${p.x1},${p.y} L${g.x0},${g.y}` }));
      }
      cur = prev;
    }
  }

  // Dragging across the timeline zooms in on the time dragged over.
  const selection = el("div", { class: "selection", hidden: true });
  box.addEventListener("mousedown", (e) => {
    if (e.button !== 0 || !geo || e.target.closest("a")) return;
    e.preventDefault();
    const left = box.getBoundingClientRect().left;
    const point = (ev) => Math.min(Math.max(ev.clientX - left, geo.labelWidth), geo.labelWidth + geo.plot);
    const start = point(e);
    const move = (ev) => {
      const p = point(ev);
      selection.style.left = `${Math.min(start, p)}px`;
      selection.style.width = `${Math.abs(p - start)}px`;
    };
    move(e);
    selection.hidden = false;
    window.addEventListener("mousemove", move);
    window.addEventListener("mouseup", (ev) => {
      window.removeEventListener("mousemove", move);
      selection.hidden = true;
      const p = point(ev), a = Math.min(start, p), b = Math.max(start, p);
      if (b - a < 6) return;
      const t = (px) => from + ((px - geo.labelWidth) / geo.plot) * (geo.domainEnd - from);
      window.location.href = link({ span: null, from: iso(t(a)), to: iso(t(b)) });
    }, { once: true });
  });

  // The search and the grouping are kept in the URL (replaced, not pushed: typing is not history).
  function filtersChanged() {
    window.history.replaceState(null, "", link({ q: search.value.trim() || null, group: group.checked ? "schema" : null }, window.location.pathname));
    links();
    arrange();
    draw();
    fetchSoon();
  }
  search.addEventListener("input", filtersChanged);
  group.addEventListener("change", filtersChanged);

  // The axis sticks under the header, whose height changes as it wraps.
  const header = document.querySelector("header");
  const stick = () => box.style.setProperty("--sticky-top", `${header.offsetHeight}px`);
  if (window.ResizeObserver) new ResizeObserver(stick).observe(header);
  stick();

  let frame = null;
  const onFrame = (fn) => { if (!frame) frame = requestAnimationFrame(() => { frame = null; fn(); }); };
  window.addEventListener("scroll", () => onFrame(() => { if (drawRows()) fetchSoon(); }), { passive: true });
  // A new width (the window's, or a scrollbar appearing as the rows come in) redraws; a new
  // height may bring other rows into view.
  const resized = () => onFrame(() => {
    if (geo && Math.max(box.clientWidth, 280) !== geo.width) draw();
    else drawRows();
    fetchSoon();
  });
  window.addEventListener("resize", resized);
  if (window.ResizeObserver) new ResizeObserver(resized).observe(box);

  const refresh = loader("the runs", load);
  showDeps.addEventListener("change", refresh);
  onChange(refresh);
  links();
  if (!fixed) setInterval(refresh, 10000);
  setInterval(tick, 1000);
  stats.redraw = () => { draw(); return stats.ms; };
  refresh();
})();
