// One table: duration chart, run log with steps and deltas, query, effective config with where
// each value came from, dependencies, dependents and sources.
"use strict";
(() => {
  const { el, svg, api, post, duration, interval, ago, dateTime, time, tip, onChange, loader } = duro;
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
    const plot = el("svg", { width, height, viewBox: `0 0 ${width} ${height}` });
    for (const f of [0, 0.5, 1]) {
      plot.append(el("text", { class: "axis", x: 4, y: y(max * f) + 4, text: duration(max * f) }),
        el("line", { x1: left, x2: width - right, y1: y(max * f), y2: y(max * f), stroke: "#e4e7ec" }));
    }
    plot.append(el("text", { class: "axis", x: left, y: height - 8, text: dateTime(points[0].start) }),
      el("text", { class: "axis", x: width - right, y: height - 8, "text-anchor": "end", text: dateTime(points[points.length - 1].start) }));
    const ok = points.filter((p) => p.outcome === "success");
    if (ok.length > 1) plot.append(el("polyline", { class: "line", points: ok.map((p) => `${x(p)},${y(p.seconds)}`).join(" ") }));
    for (const p of points) {
      const c = el("circle", { class: `point ${p.outcome === "success" ? "" : "failed"}`, cx: x(p), cy: y(p.seconds), r: 4 });
      tip(c, `${dateTime(p.start)}\n${p.outcome}: ${duration(p.seconds)}${p.rows !== null ? `, ${p.rows} rows` : ""}`);
      c.addEventListener("click", () => document.getElementById(`run-${p.id}`)?.scrollIntoView({ behavior: "smooth" }));
      plot.append(c);
    }
    box.replaceChildren(plot);
  }

  const stepName = (step) => step.replace(/_/g, " ");
  const hhmmss = (iso) => `${time(iso)}.${String(new Date(iso).getMilliseconds()).padStart(3, "0")}`;

  // One run: its head line, the steps with the time each took, the step it failed in (or is
  // in), failed tests with their SQL and values, the error and the processor's output.
  function runBlock(r, folded) {
    const state = r.outcome || "running";
    const head = el("a", { class: "head", href: `#run-${r.id}`, text: `${dateTime(r.start)} — ${state.replace("_", " ")}${r.seconds !== null ? ` in ${duration(r.seconds)}` : ""}${r.rows !== null ? `, ${r.rows} rows` : ""}` });
    const steps = el("ol", { class: "steps" });
    let previous = Date.parse(r.start);
    for (const s of r.steps) {
      const at = Date.parse(s.at);
      steps.append(el("li", { text: `${hhmmss(s.at)}  ${stepName(s.step)}  (+${duration((at - previous) / 1000)})` }));
      previous = at;
    }
    if (r.failed_step) {
      const took = r.finish ? ` after ${duration((Date.parse(r.finish) - previous) / 1000)}` : "";
      steps.append(el("li", { class: "failed-step", text: `${r.finish ? hhmmss(r.finish) : ""}  ✗ ${stepName(r.failed_step)} ${state === "cancelled" ? "interrupted" : "failed"}${took}` }));
    } else if (!r.finish) {
      const li = el("li", { class: "current-step", "data-since": previous, "data-step": r.current_step || "" });
      steps.append(li);
      tickCurrent(li);
    }
    const block = el("div", { class: `run ${state}`, id: `run-${r.id}` }, head, steps);
    if (r.test_failures && r.test_failures.length) block.append(...r.test_failures.map(testFailure));
    else if (r.failed_tests.length) block.append(el("div", { class: "error", text: `Failed tests: ${r.failed_tests.join(", ")}` }));
    if (r.error && !(r.test_failures && r.test_failures.length)) block.append(el("div", { class: "error", text: r.error }));
    if (r.notes) block.append(el("div", { class: "notes", text: r.notes }));
    if (folded && folded.length) {
      const more = el("details", { class: "folded-runs" }, el("summary", { text: `${folded.length} earlier identical ${folded.length === 1 ? "failure" : "failures"} (×${folded.length + 1} in a row, since ${dateTime(folded[folded.length - 1].start)})` }));
      more.append(...folded.map((f) => runBlock(f)));
      block.append(more);
    }
    return block;
  }

  function tickCurrent(li) {
    const step = li.dataset.step ? stepName(li.dataset.step) : "starting";
    li.textContent = `… ${step} (for ${duration((Date.now() - Number(li.dataset.since)) / 1000)})`;
  }
  setInterval(() => document.querySelectorAll("li.current-step").forEach(tickCurrent), 1000);

  // A failed test statement: where it is, what failed, its SQL and the first failing rows.
  function testFailure(f) {
    const what = f.returned_rows === 0 ? "returned no rows" : `failed on ${f.failed.join(", ")}: ${f.failing_rows} of ${f.returned_rows} ${f.returned_rows === 1 ? "row" : "rows"}`;
    const box = el("div", { class: "test-failure" }, el("div", { class: "error", text: `Test at line ${f.line} ${what}` }));
    const pre = el("pre", { class: "sql" });
    highlight(pre, f.sql);
    box.append(pre);
    if (f.rows.length) {
      const failedColumns = new Set(f.failed);
      const table = el("table", { class: "grid values" },
        el("thead", {}, el("tr", {}, ...f.columns.map((c) => el("th", { class: failedColumns.has(c) ? "failed" : null, text: c })))),
        el("tbody", {}, ...f.rows.map((row) => el("tr", {}, ...row.map((v, i) => el("td", { class: failedColumns.has(f.columns[i]) ? "failed" : null, text: v === "" ? "''" : v }))))));
      box.append(table);
      if (f.failing_rows > f.rows.length) box.append(el("p", { class: "muted", text: `first ${f.rows.length} of ${f.failing_rows} failing rows` }));
    }
    return box;
  }

  // Newest first; runs that failed the same way one after another fold into the newest of them.
  function foldRuns(runs) {
    const out = [];
    for (const r of runs) {
      const last = out[out.length - 1];
      if (last && r.finish && r.outcome && r.outcome !== "success" && r.outcome === last.run.outcome && (r.error || "") === (last.run.error || "")) {
        last.folded.push(r);
        continue;
      }
      out.push({ run: r, folded: [] });
    }
    return out;
  }

  function runLog(runs) {
    const box = document.getElementById("runs");
    if (!runs.length) { box.replaceChildren(el("p", { class: "muted", text: "This table has not been built yet." })); return; }
    box.replaceChildren(...foldRuns(runs).map(({ run, folded }) => runBlock(run, folded)));
    // A link to a folded run opens its group.
    const target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target) { const group = target.closest("details"); if (group) group.open = true; }
  }

  // The neighbourhood: what the table reads (tables and sources) on the left, the table, and what
  // reads it on the right; every node a link. Edges run only in the gaps between the columns.
  function neighbourhood(t) {
    let block = document.getElementById("neighbourhood");
    if (!block) {
      block = el("div", { id: "neighbourhood", class: "neighbourhood" });
      document.getElementById("actions").after(el("section", {},
        el("h2", {}, "Neighbourhood ", el("a", { id: "neighbourhood-lineage", class: "muted", href: "#", text: "(in the lineage graph)" })), block));
    }
    document.getElementById("neighbourhood-lineage").setAttribute("href", `/graph?focus=${encodeURIComponent(t.name)}&hops=2`);
    const W = 190, H = 24, ROW = 32, GAP = 70, PAD = 6, MAX = 12;
    const more = (n) => ({ kind: "more", name: `+ ${n} more`, href: `/graph?focus=${encodeURIComponent(t.name)}&hops=1` });
    const side = (items) => (items.length > MAX ? [...items.slice(0, MAX - 1), more(items.length - MAX + 1)] : items);
    const left = side([...t.depends_on.map((n) => ({ kind: "table", name: n })), ...t.sources.map((n) => ({ kind: "source", name: n }))]);
    const right = side(t.dependents.map((n) => ({ kind: "table", name: n })));
    const rows = Math.max(left.length, right.length, 1);
    const height = rows * ROW + PAD * 2, width = 3 * W + 2 * GAP + PAD * 2;
    const root = svg("svg", { class: "lineage", width, height, viewBox: `0 0 ${width} ${height}` });
    const column = (items, x) => items.map((n, i) => ({ ...n, x, y: PAD + (height - PAD * 2 - items.length * ROW) / 2 + i * ROW + (ROW - H) / 2 }));
    const self = { kind: "self", name: t.name, x: PAD + W + GAP, y: (height - H) / 2 };
    const ls = column(left, PAD), rs = column(right, PAD + 2 * (W + GAP));
    const curve = (a, b) => { const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, dx = (x2 - x1) / 2; return `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`; };
    for (const n of ls) root.append(svg("path", { class: "edge", d: curve(n, self) }));
    for (const n of rs) root.append(svg("path", { class: "edge", d: curve(self, n) }));
    for (const n of [...ls, self, ...rs]) {
      const cls = n.kind === "self" ? `node ${t.state} focus` : n.kind === "source" ? "source" : n.kind === "more" ? "more" : "node other";
      const href = n.kind === "source" ? `/graph?focus=${encodeURIComponent(n.name)}&hops=1` : n.href || `/tables/${encodeURIComponent(n.name)}`;
      const label = n.name.length > 29 ? `${n.name.slice(0, 28)}…` : n.name;
      const g = svg("g", { class: cls, transform: `translate(${n.x},${n.y})`, "data-name": n.name }, svg("rect", { width: W, height: H }), svg("text", { x: 8, y: 16 }, label));
      if (n.kind !== "more") tip(g, n.kind === "source" ? `${n.name}\nsource (not managed by duro)` : n.name);
      root.append(svg("a", { href, "aria-label": n.kind === "source" ? `source ${n.name}` : n.name }, g));
    }
    block.replaceChildren(root);
  }

  // "retrying in …", counted down every second until the creator's next try.
  function tickRetry() {
    const span = document.getElementById("retrying");
    if (!span) return;
    const left = span.dataset.at ? (Date.parse(span.dataset.at) - Date.now()) / 1000 : 0;
    span.textContent = span.dataset.at ? (left > 0 ? `, retrying in ${duration(left)}` : ", retrying at the next poll") : "";
  }
  setInterval(tickRetry, 1000);

  // A query table: its query. A processor table: the select it reads, the script, its
  // requirements and the DDL of the table it fills.
  function showQuery(t) {
    const block = document.getElementById("query-block");
    const part = (title, text, sql) => {
      const pre = el("pre", { class: sql ? "sql" : "code" });
      if (sql) highlight(pre, text); else pre.textContent = text;
      return [el("h3", { text: title }), pre];
    };
    const file = (key) => (t.files && t.files[key] ? ` (${t.files[key]})` : "");
    if (!t.script) {
      const pre = el("pre", { id: "query", class: "sql" });
      highlight(pre, t.query);
      block.replaceChildren(el("h2", { text: `Query${file("definition")}` }), pre);
      return;
    }
    block.replaceChildren(el("h2", { text: "Processor" }),
      ...part(`The select it reads${file("select")}`, t.select_query || "", true),
      ...part(`The script${file("script")}`, t.script, false),
      ...(t.requirements ? part(`Requirements${file("requirements")}`, t.requirements, false) : []),
      ...part(`The DDL of the table it fills${file("definition")}`, t.query, true));
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
    const summary = document.getElementById("summary");
    summary.replaceChildren(t.state, el("span", { id: "retrying", "data-at": t.retry_at || "" }),
      `${t.force ? ", forced" : ""} · ${own} · last built ${ago(t.last_built)} · mean ${duration(t.mean_seconds) || "–"}`);
    tickRetry();
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
    neighbourhood(t);
    const config = document.getElementById("config");
    const entries = Object.entries(t.config);
    config.replaceChildren(...(entries.length
      ? entries.map(([k, v]) => el("tr", {}, el("td", { text: k }), el("td", { text: v.value }), el("td", { class: "muted", text: v.source || "" })))
      : [el("tr", {}, el("td", { class: "muted", text: "defaults only" }))]));
    showQuery(t);
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
