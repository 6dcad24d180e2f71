// The lineage graph. A layered layout left to right (dagre, vendored: ranking, crossing
// minimisation, coordinates and the bend points of long edges), tables coloured by state and
// sources (relations a table reads that duro does not manage) drawn as their own nodes.
//
// Edges never pass under a node: all nodes of a layer share one column of width W, so an edge
// runs horizontally through each column it crosses, at the height of the slot dagre reserved for
// it there (its dummy node, kept apart from the real nodes), and bends only in the empty gaps
// between columns, on curves whose x grows monotonically from one column to the next.
//
// `?focus=<table>&hops=N` shows a table with N hops up and down (a link can be shared); the
// search dims the other nodes; every node is a link (`<a href>`), a table to its page and a source
// to the tables that read it. Everything is built with createElementNS and textContent.
"use strict";
(() => {
  const { el, svg, api, onChange, loader, interval, tip } = duro;
  const W = 190, H = 24;
  // Beyond this many nodes a whole-graph layout would hold the page for many seconds: ask first.
  const LARGE = 1500;
  const box = document.getElementById("graph");
  const find = document.getElementById("find");
  const focusInput = document.getElementById("focus");
  const hopsSelect = document.getElementById("hops");
  const count = document.getElementById("graph-count");
  const names = document.getElementById("graph-tables");
  let data = null, drawn = null, drawAll = false;
  // For the tests and the benchmark: what the last layout took and how many crossings it has.
  const stats = (window.duroGraph = { layouts: 0 });

  function params() {
    const q = new URLSearchParams(window.location.search);
    const hops = q.get("hops");
    return { focus: q.get("focus") || "", hops: hops === "all" ? "all" : Math.max(1, parseInt(hops, 10) || 2), find: q.get("q") || "" };
  }
  function setParams(next, push) {
    const q = new URLSearchParams();
    if (next.focus) { q.set("focus", next.focus); q.set("hops", String(next.hops)); }
    if (next.find) q.set("q", next.find);
    const url = `/graph${q.toString() ? `?${q}` : ""}`;
    if (push) window.history.pushState(null, "", url);
    else window.history.replaceState(null, "", url);
  }

  const tableId = (name) => `t:${name}`;
  const sourceId = (name) => `s:${name}`;
  // Tables and sources as nodes, dependencies and reads as edges (from the one read to the reader).
  function model(d) {
    const nodes = new Map();
    for (const t of d.nodes) nodes.set(tableId(t.name), { id: tableId(t.name), name: t.name, kind: "table", table: t, readers: [] });
    const edges = new Map();
    const add = (v, w) => { if (nodes.has(v) && nodes.has(w) && v !== w) edges.set(`${v}\n${w}`, [v, w]); };
    for (const [from, to] of d.edges) add(tableId(from), tableId(to));
    for (const t of d.nodes) {
      for (const s of t.sources || []) {
        const id = sourceId(s);
        if (!nodes.has(id)) nodes.set(id, { id, name: s, kind: "source", readers: [] });
        nodes.get(id).readers.push(t.name);
        add(id, tableId(t.name));
      }
    }
    return { nodes, edges: [...edges.values()] };
  }

  // The nodes within `hops` steps upstream (what it reads) or downstream (what reads it).
  function neighbourhood(m, focus, hops) {
    const up = new Map(), down = new Map();
    for (const [v, w] of m.edges) {
      (up.get(w) || up.set(w, []).get(w)).push(v);
      (down.get(v) || down.set(v, []).get(v)).push(w);
    }
    const keep = new Set([focus]);
    for (const next of [up, down]) {
      let frontier = [focus];
      const seen = new Set([focus]);
      for (let step = 0; frontier.length && (hops === "all" || step < hops); step++) {
        const following = [];
        for (const id of frontier) for (const n of next.get(id) || []) if (!seen.has(n)) { seen.add(n); keep.add(n); following.push(n); }
        frontier = following;
      }
    }
    return keep;
  }

  function layout(nodes, edges) {
    const g = new dagre.graphlib.Graph();
    // network-simplex gives the tightest ranks but is the slow part at hundreds of nodes.
    g.setGraph({ rankdir: "LR", nodesep: 8, edgesep: 4, ranksep: 90, marginx: 16, marginy: 16, ranker: nodes.length > 200 ? "tight-tree" : "network-simplex" });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of nodes) g.setNode(n.id, { width: W, height: H });
    for (const [v, w] of edges) g.setEdge(v, w);
    const started = performance.now();
    dagre.layout(g);
    const ms = performance.now() - started;
    const round = (x) => Math.round(x * 100) / 100;
    const pos = new Map(nodes.map((n) => { const p = g.node(n.id); return [n.id, { x: round(p.x), y: round(p.y) }]; }));
    const columns = [...new Set([...pos.values()].map((p) => p.x))].sort((a, b) => a - b);
    const routes = edges.map(([v, w]) => route(pos.get(v), pos.get(w), g.edge(v, w).points, columns));
    return { pos, routes, columns, width: Math.ceil(g.graph().width), height: Math.ceil(g.graph().height), ms };
  }

  // The points of an edge: out of the right side of its source, through each column between on
  // the slot dagre gave it there, into the left side of its target. Alternating gap and column
  // stretches: [exit, entry, exit, entry, …, entry].
  function route(a, b, points, columns) {
    const pts = [{ x: a.x + W / 2, y: a.y }];
    for (const p of points.slice(1, -1)) {
      const c = columns.find((x) => Math.abs(p.x - x) < W / 2 - 1);
      if (c !== undefined && c > a.x && c < b.x) pts.push({ x: c - W / 2, y: p.y }, { x: c + W / 2, y: p.y });
    }
    pts.push({ x: b.x - W / 2, y: b.y });
    return pts;
  }
  function pathOf(pts) {
    let d = `M${pts[0].x},${pts[0].y}`;
    for (let i = 1; i < pts.length; i++) {
      const p = pts[i - 1], q = pts[i];
      if (i % 2 === 1) { const dx = (q.x - p.x) / 2; d += ` C${p.x + dx},${p.y} ${q.x - dx},${q.y} ${q.x},${q.y}`; }
      else d += ` L${q.x},${q.y}`;
    }
    return d;
  }
  // Two edges cross in a gap exactly when their order at its two sides differs (the curves in a
  // gap all have the same shape); in the columns they run parallel.
  function crossings(routes, edges) {
    const gaps = new Map();
    routes.forEach((pts, i) => {
      for (let k = 0; k + 1 < pts.length; k += 2) {
        const key = pts[k].x;
        (gaps.get(key) || gaps.set(key, []).get(key)).push([pts[k].y, pts[k + 1].y, edges[i]]);
      }
    });
    let n = 0;
    for (const list of gaps.values()) {
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const [a1, a2, ea] = list[i], [b1, b2, eb] = list[j];
          if (ea[0] === eb[0] || ea[1] === eb[1] || ea[0] === eb[1] || ea[1] === eb[0]) continue;
          if ((a1 - b1) * (a2 - b2) < 0) n++;
        }
      }
    }
    return n;
  }

  const stateOf = (n) => (n.kind === "source" ? "source" : n.table.state || "never");
  function describe(n) {
    if (n.kind === "source") return `${n.name}\nsource (not managed by duro), read by ${n.readers.length} table${n.readers.length === 1 ? "" : "s"}`;
    const t = n.table;
    const every = t.interval_minutes ? `every ${interval(t.interval_minutes)}` : t.effective_interval_minutes ? `every ${interval(t.effective_interval_minutes)} (inherited)` : "no interval";
    return `${t.name}\n${t.state || "never"}${t.force ? ", forced" : ""} · ${every}`;
  }
  const hrefOf = (n) => (n.kind === "source" ? `/graph?focus=${encodeURIComponent(n.name)}&hops=1` : `/tables/${encodeURIComponent(n.name)}`);
  const classOf = (n, focus) => [n.kind === "source" ? "source" : "node", stateOf(n), n.table && n.table.force ? "forced" : "", n.id === focus ? "focus" : ""].filter(Boolean).join(" ");

  function resolve(m, name) {
    if (!name) return null;
    if (m.nodes.has(tableId(name))) return tableId(name);
    if (m.nodes.has(sourceId(name))) return sourceId(name);
    return undefined;
  }

  function draw() {
    if (!data) return;
    const m = model(data);
    const p = params();
    const focus = resolve(m, p.focus);
    focusInput.value = p.focus;
    if (![...hopsSelect.options].some((o) => o.value === String(p.hops))) hopsSelect.append(el("option", { value: String(p.hops), text: String(p.hops) }));
    hopsSelect.value = String(p.hops);
    const keep = focus ? neighbourhood(m, focus, p.hops) : null;
    const nodes = [...m.nodes.values()].filter((n) => !keep || keep.has(n.id)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const edges = m.edges.filter(([v, w]) => !keep || (keep.has(v) && keep.has(w)));
    const tables = nodes.filter((n) => n.kind === "table").length;
    const totalTables = data.nodes.length;
    const sources = nodes.length - tables;
    let what = `${tables} table${tables === 1 ? "" : "s"}, ${sources} source${sources === 1 ? "" : "s"}, ${edges.length} edges`;
    if (focus) what = `${p.focus}, ${p.hops === "all" ? "all" : p.hops} hop${p.hops === 1 ? "" : "s"} up and down: ${what} of ${totalTables} tables`;
    else if (focus === undefined) what = `No table or source named “${p.focus}”. ${what}`;

    // The same nodes and edges as drawn: keep the layout, change only the states.
    const key = JSON.stringify([nodes.map((n) => n.id), edges, focus || ""]);
    if (drawn && drawn.key === key) {
      for (const n of nodes) {
        const e = drawn.elements.get(n.id);
        e.node = n;
        e.g.setAttribute("class", classOf(n, focus));
      }
      count.textContent = `${what} · laid out in ${Math.round(drawn.ms)} ms`;
      search();
      return;
    }
    names.replaceChildren(...[...m.nodes.values()].filter((n) => n.kind === "table").map((n) => el("option", { value: n.name })));
    if (nodes.length > LARGE && !drawAll) {
      count.textContent = what;
      box.replaceChildren(el("p", { class: "graph-large" },
        `${nodes.length} nodes are slow to lay out at once: pick a table to focus on above, or `,
        el("button", { type: "button", text: "draw them all", onclick: () => { drawAll = true; draw(); } })));
      drawn = null;
      return;
    }
    const l = layout(nodes, edges);
    const root = svg("svg", { class: "lineage", width: l.width, height: l.height, viewBox: `0 0 ${l.width} ${l.height}` });
    const edgeLayer = svg("g", { class: "edges" }), nodeLayer = svg("g", { class: "nodes" });
    const touching = new Map(nodes.map((n) => [n.id, []]));
    edges.forEach(([v, w], i) => {
      const path = svg("path", { class: "edge", d: pathOf(l.routes[i]), "data-from": v, "data-to": w });
      touching.get(v).push(path);
      touching.get(w).push(path);
      edgeLayer.append(path);
    });
    const elements = new Map();
    for (const n of nodes) {
      const at = l.pos.get(n.id);
      const label = n.name.length > 29 ? `${n.name.slice(0, 28)}…` : n.name;
      const g = svg("g", { class: classOf(n, focus), transform: `translate(${at.x - W / 2},${at.y - H / 2})`, "data-id": n.id, "data-name": n.name },
        svg("rect", { width: W, height: H }));
      g.append(svg("text", { x: 8, y: 16 }, label));
      const link = svg("a", { href: hrefOf(n), "aria-label": n.kind === "source" ? `source ${n.name}` : n.name }, g);
      const entry = { g, link, node: n, name: n.name.toLowerCase() };
      elements.set(n.id, entry);
      tip(g, () => describe(entry.node));
      g.addEventListener("mouseenter", () => touching.get(n.id).forEach((e) => e.classList.add("hot")));
      g.addEventListener("mouseleave", () => touching.get(n.id).forEach((e) => e.classList.remove("hot")));
      nodeLayer.append(link);
    }
    root.append(edgeLayer, nodeLayer);
    box.replaceChildren(root);
    const crossed = crossings(l.routes, edges);
    drawn = { key, elements, touching, pos: l.pos, ms: l.ms };
    Object.assign(stats, { layouts: stats.layouts + 1, ms: l.ms, crossings: crossed, nodes: nodes.length, edges: edges.length, drawnAt: performance.now() });
    count.textContent = `${what} · laid out in ${Math.round(l.ms)} ms`;
    search();
    if (focus) {
      const at = l.pos.get(focus);
      box.scrollTo({ left: at.x - box.clientWidth / 2, top: at.y - box.clientHeight / 2 });
    }
  }

  // Search dims every node that does not match, and the edges between two of them.
  function search(scroll = false) {
    if (!drawn) return;
    const needle = find.value.trim().toLowerCase();
    let first = null;
    for (const [id, e] of drawn.elements) {
      const hit = needle !== "" && e.name.includes(needle);
      e.g.classList.toggle("match", hit);
      e.g.classList.toggle("dim", needle !== "" && !hit);
      if (hit && !first) first = id;
    }
    const lit = new Set([...drawn.elements].filter(([, e]) => e.g.classList.contains("match")).map(([id]) => id));
    for (const path of box.querySelectorAll("path.edge")) {
      path.classList.toggle("dim", needle !== "" && !lit.has(path.dataset.from) && !lit.has(path.dataset.to));
    }
    if (scroll && first) {
      const at = drawn.pos.get(first);
      box.scrollTo({ left: at.x - 120, top: at.y - 80, behavior: "smooth" });
    }
  }

  function legend() {
    const item = (cls, text) => el("span", { class: "legend-item" },
      svg("svg", { class: "lineage", width: 26, height: 14, viewBox: "0 0 26 14", "aria-hidden": "true" }, svg("g", { class: cls }, svg("rect", { x: 1, y: 1, width: 24, height: 12 }))),
      text);
    const edge = el("span", { class: "legend-item" },
      svg("svg", { class: "lineage", width: 26, height: 14, viewBox: "0 0 26 14", "aria-hidden": "true" }, svg("path", { class: "edge", d: "M1,7 L25,7" })),
      "reads from (left) into (right)");
    document.getElementById("graph-legend").replaceChildren(
      item("node ok", "ok"), item("node failed", "failed"), item("node running", "running"), item("node never", "never built"),
      item("node ok forced", "forced"), item("source", "source (not managed by duro)"), item("node ok focus", "focused table"), edge);
  }

  async function load() { data = await api("/api/graph"); draw(); }
  let typing = null;
  find.value = params().find;
  find.addEventListener("input", () => {
    search(true);
    clearTimeout(typing);
    typing = setTimeout(() => setParams({ ...params(), find: find.value.trim() }, false), 300);
  });
  // Enter in the search focuses on the first match.
  find.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !drawn) return;
    const needle = find.value.trim().toLowerCase();
    const hit = [...drawn.elements.values()].find((x) => needle && x.name.includes(needle));
    if (hit) { setParams({ ...params(), focus: hit.node.name, find: "" }, true); find.value = ""; draw(); }
  });
  focusInput.addEventListener("change", () => { setParams({ ...params(), focus: focusInput.value.trim() }, true); draw(); });
  hopsSelect.addEventListener("change", () => { setParams({ ...params(), hops: hopsSelect.value === "all" ? "all" : Number(hopsSelect.value) }, true); draw(); });
  window.addEventListener("popstate", () => { find.value = params().find; draw(); });
  legend();
  const refresh = loader("the graph", load);
  onChange(refresh);
  refresh();
})();
