// One table: duration chart, run log with steps and deltas, query, effective config with where
// each value came from, dependencies, dependents and sources.
"use strict";
(() => {
  const { el, api, post, duration, interval, ago, dateTime, tip, onChange, loader } = duro;
  const name = document.body.dataset.table;
  const link = (t) => el("li", {}, el("a", { href: `/tables/${encodeURIComponent(t)}`, text: t }));
  const list = (id, items, make) => {
    const ul = document.getElementById(id);
    ul.replaceChildren(...(items.length ? items.map(make) : [el("li", { class: "muted", text: "none" })]));
  };

  // Keywords, strings, comments and numbers, each wrapped in a span built with textContent.
  const KEYWORDS = new Set("select from where join left right inner outer full cross on using group by order having limit offset union all except intersect with as and or not in is null case when then else end distinct create table insert into values over partition between like ilike exists true false asc desc lateral window filter cast".split(" "));
  function highlight(pre, sql) {
    pre.replaceChildren();
    const re = /(--[^\n]*|\/\*[\s\S]*?\*\/)|('(?:[^']|'')*')|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_$]*)|([\s\S])/g;
    let m, plain = "";
    const flush = () => { if (plain) { pre.append(plain); plain = ""; } };
    while ((m = re.exec(sql))) {
      if (m[1]) { flush(); pre.append(el("span", { class: "cm", text: m[1] })); }
      else if (m[2]) { flush(); pre.append(el("span", { class: "str", text: m[2] })); }
      else if (m[3]) { flush(); pre.append(el("span", { class: "num", text: m[3] })); }
      else if (m[4] && KEYWORDS.has(m[4].toLowerCase())) { flush(); pre.append(el("span", { class: "kw", text: m[4] })); }
      else plain += m[0];
    }
    flush();
  }

  function chart(runs) {
    const box = document.getElementById("chart");
    const points = runs.filter((r) => r.seconds !== null).reverse();
    if (!points.length) { box.replaceChildren(el("p", { class: "muted", text: "No finished runs yet." })); return; }
    const width = Math.max(box.clientWidth, 500), height = 220, left = 56, right = 16, top = 12, bottom = 28;
    const t0 = Date.parse(points[0].start), t1 = Math.max(Date.parse(points[points.length - 1].start), t0 + 1);
    const max = Math.max(...points.map((p) => p.seconds), 0.001);
    const x = (p) => left + ((Date.parse(p.start) - t0) / (t1 - t0)) * (width - left - right);
    const y = (s) => top + (1 - s / max) * (height - top - bottom);
    const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}` });
    for (const f of [0, 0.5, 1]) {
      svg.append(el("text", { class: "axis", x: 4, y: y(max * f) + 4, text: duration(max * f) }),
        el("line", { x1: left, x2: width - right, y1: y(max * f), y2: y(max * f), stroke: "#e4e7ec" }));
    }
    svg.append(el("text", { class: "axis", x: left, y: height - 8, text: dateTime(points[0].start) }),
      el("text", { class: "axis", x: width - right, y: height - 8, "text-anchor": "end", text: dateTime(points[points.length - 1].start) }));
    const ok = points.filter((p) => p.outcome === "success");
    if (ok.length > 1) svg.append(el("polyline", { class: "line", points: ok.map((p) => `${x(p)},${y(p.seconds)}`).join(" ") }));
    for (const p of points) {
      const c = el("circle", { class: `point ${p.outcome === "success" ? "" : "failed"}`, cx: x(p), cy: y(p.seconds), r: 4 });
      tip(c, `${dateTime(p.start)}\n${p.outcome}: ${duration(p.seconds)}${p.rows !== null ? `, ${p.rows} rows` : ""}`);
      c.addEventListener("click", () => document.getElementById(`run-${p.id}`)?.scrollIntoView({ behavior: "smooth" }));
      svg.append(c);
    }
    box.replaceChildren(svg);
  }

  function runLog(runs) {
    const box = document.getElementById("runs");
    if (!runs.length) { box.replaceChildren(el("p", { class: "muted", text: "This table has not been built yet." })); return; }
    box.replaceChildren(...runs.map((r) => {
      const state = r.outcome || "running";
      const head = el("div", { class: "head", text: `${dateTime(r.start)} — ${state}${r.seconds !== null ? ` in ${duration(r.seconds)}` : ""}${r.rows !== null ? `, ${r.rows} rows` : ""}` });
      const steps = el("ol");
      let previous = Date.parse(r.start);
      for (const s of r.steps) {
        const at = Date.parse(s.at);
        steps.append(el("li", { text: `${s.at.slice(11, 23)}  ${s.step.replace("_", " ")}  (+${duration((at - previous) / 1000)})` }));
        previous = at;
      }
      const block = el("div", { class: `run ${state}`, id: `run-${r.id}` }, head, steps);
      if (r.failed_tests.length) block.append(el("div", { class: "error", text: `Failed tests: ${r.failed_tests.join(", ")}` }));
      if (r.error) block.append(el("div", { class: "error", text: r.error }));
      if (r.notes) block.append(el("div", { class: "notes", text: r.notes }));
      return block;
    }));
  }

  async function load() {
    let t;
    try {
      t = await api(`/api/tables/${encodeURIComponent(name)}`);
    } catch (e) {
      if (e.status === 404) {
        document.getElementById("title").textContent = `Unknown table ${name}`;
        return;
      }
      if (!document.getElementById("title").textContent) document.getElementById("title").textContent = name;
      throw e;
    }
    document.getElementById("title").textContent = t.name;
    const own = t.interval_minutes ? `every ${interval(t.interval_minutes)}` : t.effective_interval_minutes ? `every ${interval(t.effective_interval_minutes)} (inherited)` : "no interval";
    document.getElementById("summary").textContent =
      `${t.state}${t.force ? ", forced" : ""} · ${own} · last built ${ago(t.last_built)} · mean ${duration(t.mean_seconds) || "–"}`;
    const actions = document.getElementById("actions");
    actions.replaceChildren(...[false, true].map((tree) => {
      const b = el("button", { type: "button", disabled: t.force || t.state === "running" || t.state === "removed", text: t.force ? "Scheduled" : tree ? "Update tree" : "Update table" });
      b.addEventListener("click", async () => {
        b.disabled = true;
        try { await post(`/api/tables/${encodeURIComponent(t.name)}/force`, { tree }); b.textContent = "Scheduled"; }
        catch (e) { b.disabled = false; window.alert(e.message); }
      });
      return b;
    }));
    list("depends", t.depends_on, link);
    list("dependents", t.dependents, link);
    list("sources", t.sources, (s) => el("li", { text: s }));
    const config = document.getElementById("config");
    const entries = Object.entries(t.config);
    config.replaceChildren(...(entries.length
      ? entries.map(([k, v]) => el("tr", {}, el("td", { text: k }), el("td", { text: v.value }), el("td", { class: "muted", text: v.source || "" })))
      : [el("tr", {}, el("td", { class: "muted", text: "defaults only" }))]));
    const query = document.getElementById("query");
    highlight(query, t.select_query ? `${t.select_query}\n\n-- DDL of the processor table\n${t.query}` : t.query);
    const tests = document.getElementById("tests-block");
    tests.replaceChildren();
    if (t.tests) {
      const pre = el("pre", { class: "sql" });
      highlight(pre, t.tests);
      tests.append(el("h2", { text: "Tests" }), pre);
    }
    chart(t.runs);
    runLog(t.runs);
  }
  const refresh = loader(name, load);
  onChange(refresh);
  refresh();
})();
