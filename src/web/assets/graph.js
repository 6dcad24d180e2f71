// The lineage graph: tables laid out left to right by depth, coloured by state; click to open.
"use strict";
(() => {
  const { el, api, onChange, loader, interval, tip } = duro;
  const box = document.getElementById("graph");
  const find = document.getElementById("find");
  let data = null;

  function layout(nodes, edges) {
    const deps = new Map(nodes.map((n) => [n.name, []]));
    for (const [d, c] of edges) if (deps.has(c)) deps.get(c).push(d);
    const depth = new Map();
    const visiting = new Set();
    const level = (name) => {
      if (depth.has(name)) return depth.get(name);
      if (visiting.has(name)) return 0;
      visiting.add(name);
      const d = Math.max(0, ...deps.get(name).map((x) => level(x) + 1));
      visiting.delete(name);
      depth.set(name, d);
      return d;
    };
    nodes.forEach((n) => level(n.name));
    const columns = [];
    for (const n of nodes) (columns[depth.get(n.name)] ||= []).push(n);
    // Order each column by the mean position of its dependencies, to reduce crossings.
    const y = new Map();
    columns.forEach((col, i) => {
      if (i > 0) col.sort((a, b) => avg(a) - avg(b) || (a.name < b.name ? -1 : 1));
      col.forEach((n, j) => y.set(n.name, j));
    });
    function avg(n) { const d = deps.get(n.name); return d.length ? d.reduce((s, x) => s + y.get(x), 0) / d.length : 0; }
    return { columns, depth, y };
  }

  function draw() {
    if (!data) return;
    const { nodes, edges } = data;
    const { columns, depth, y } = layout(nodes, edges);
    const colWidth = 230, rowHeight = 34, nodeWidth = 190, nodeHeight = 24, pad = 16;
    const height = pad * 2 + Math.max(1, ...columns.map((c) => (c ? c.length : 0))) * rowHeight;
    const width = pad * 2 + Math.max(1, columns.length) * colWidth;
    const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}` });
    const pos = (name) => ({ x: pad + depth.get(name) * colWidth, y: pad + y.get(name) * rowHeight });
    const needle = find.value.trim().toLowerCase();
    const paths = [];
    for (const [d, c] of edges) {
      if (!depth.has(d) || !depth.has(c)) continue;
      const a = pos(d), b = pos(c);
      const p = el("path", { d: `M${a.x + nodeWidth},${a.y + nodeHeight / 2} C${a.x + nodeWidth + 30},${a.y + nodeHeight / 2} ${b.x - 30},${b.y + nodeHeight / 2} ${b.x},${b.y + nodeHeight / 2}`, "data-from": d, "data-to": c });
      paths.push(p);
      svg.append(p);
    }
    for (const n of nodes) {
      const p = pos(n.name);
      const cls = ["node", n.state || "never", n.force ? "forced" : "", needle && n.name.includes(needle) ? "match" : ""].join(" ");
      const g = el("g", { class: cls, transform: `translate(${p.x},${p.y})`, "data-name": n.name },
        el("rect", { width: nodeWidth, height: nodeHeight }),
        el("text", { x: 8, y: 16, text: n.name.length > 28 ? `${n.name.slice(0, 27)}…` : n.name }));
      const every = n.interval_minutes ? interval(n.interval_minutes) : n.effective_interval_minutes ? `${interval(n.effective_interval_minutes)} (inherited)` : "no interval";
      tip(g, `${n.name}\n${n.state || "never"}${n.force ? ", forced" : ""} · ${every}${n.sources.length ? `\nsources: ${n.sources.join(", ")}` : ""}`);
      g.addEventListener("click", () => { window.location.href = `/tables/${encodeURIComponent(n.name)}`; });
      g.addEventListener("mouseenter", () => paths.forEach((e) => e.classList.toggle("hot", e.dataset.from === n.name || e.dataset.to === n.name)));
      g.addEventListener("mouseleave", () => paths.forEach((e) => e.classList.remove("hot")));
      svg.append(g);
    }
    box.replaceChildren(svg);
    document.getElementById("graph-count").textContent = `${nodes.length} tables, ${edges.length} dependencies`;
    const first = needle && nodes.find((n) => n.name.includes(needle));
    if (first) { const p = pos(first.name); box.scrollTo({ left: p.x - 40, top: p.y - 80, behavior: "smooth" }); }
  }

  async function load() { data = await api("/api/graph"); draw(); }
  find.addEventListener("input", draw);
  const refresh = loader("the graph", load);
  onChange(refresh);
  refresh();
})();
