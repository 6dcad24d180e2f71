// All tables: sortable, searchable, state badges, freshness, and the force buttons.
"use strict";
(() => {
  const { el, api, post, duration, interval, ago, dateTime, onChange, loader, classify, wanted } = duro;
  const tbody = document.querySelector("#tables tbody");
  const search = document.getElementById("search");
  const count = document.getElementById("count");
  let rows = [], effective = new Map(), sort = { key: "built", dir: "desc" }, facts = null;
  // Removed tables are hidden unless the toggle (or ?removed=1) shows them.
  const params = new URLSearchParams(window.location.search);
  const showRemoved = el("input", { type: "checkbox", id: "show-removed", checked: params.get("removed") === "1" });
  search.closest(".toolbar").append(el("label", {}, showRemoved, " show removed tables"));
  showRemoved.addEventListener("change", () => {
    const q = new URLSearchParams(window.location.search);
    if (showRemoved.checked) q.set("removed", "1"); else q.delete("removed");
    window.history.replaceState(null, "", `${window.location.pathname}${q.toString() ? `?${q}` : ""}`);
    render();
  });
  const scheduled = new Set();

  function freshness(t) {
    const minutes = t.interval_minutes || effective.get(t.name);
    if (!t.last_built || !minutes) return null;
    return (Date.now() - Date.parse(t.last_built)) / 1000 / (minutes * 60);
  }
  const value = {
    name: (t) => t.name,
    interval: (t) => t.interval_minutes || effective.get(t.name) || 0,
    built: (t) => (t.last_built ? Date.parse(t.last_built) : 0),
    mean: (t) => t.mean_seconds || 0,
    state: (t) => t.state,
    freshness: (t) => freshness(t) ?? -1,
  };

  function button(t, tree) {
    const label = tree ? "Update tree" : "Update table";
    const busy = t.state === "running" || t.state === "removed";
    const isScheduled = scheduled.has(t.name) || (t.force && t.state !== "removed");
    const b = el("button", {
      type: "button",
      class: isScheduled ? "scheduled" : null,
      disabled: busy || isScheduled,
      "data-table": t.name,
      "data-tree": tree ? "1" : "0",
      text: t.state === "running" ? "Running" : t.state === "removed" ? "Removed" : isScheduled ? "Scheduled" : label,
    });
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        const r = await post(`/api/tables/${encodeURIComponent(t.name)}/force`, { tree });
        for (const name of r.forced) scheduled.add(name);
        render();
      } catch (e) {
        b.disabled = false;
        window.alert(`Could not schedule ${t.name}: ${e.message}`);
      }
    });
    return b;
  }

  function render() {
    const needle = search.value.trim().toLowerCase();
    const only = wanted() && facts ? facts.sets[wanted()] : null;
    const shown = rows.filter((t) => (!needle || t.name.includes(needle) || t.state.includes(needle) || (needle === "forced" && t.force))
      && (showRemoved.checked || t.state !== "removed" || (needle && "removed".includes(needle)))
      && (!only || only.has(t.name)));
    const v = value[sort.key];
    // Failed tables first, whatever the sort.
    shown.sort((a, b) => {
      const fa = a.state === "failed", fb = b.state === "failed";
      if (fa !== fb) return fa ? -1 : 1;
      const x = v(a), y = v(b);
      const c = x < y ? -1 : x > y ? 1 : a.name < b.name ? -1 : 1;
      return sort.dir === "asc" ? c : -c;
    });
    const fragment = document.createDocumentFragment();
    for (const t of shown) {
      const f = freshness(t);
      const inherited = !t.interval_minutes && effective.get(t.name);
      const badges = el("td", {}, el("span", { class: `badge ${t.state}`, text: t.state }));
      const retryIn = t.retry_at ? (Date.parse(t.retry_at) - Date.now()) / 1000 : 0;
      if (retryIn > 0) badges.append(" ", el("span", { class: "badge retrying", text: `retrying in ${duration(retryIn)}` }));
      if (t.force && t.state !== "removed") badges.append(" ", el("span", { class: "badge forced", text: "forced" }));
      if (t.last_error) badges.title = t.last_error;
      const fresh = el("td");
      if (f !== null) {
        const cls = f > 1 ? "overdue" : f > 0.8 ? "late" : "";
        fresh.append(el("span", { class: `fresh ${cls}` }, el("span", { style: `width:${Math.min(f, 1) * 100}%` })),
          el("span", { class: `fresh-text ${f > 1 ? "overdue-text" : ""}`, text: f > 1 ? `overdue ×${f.toFixed(1)}` : `${Math.round(f * 100)}%` }));
      }
      const name = el("td", { class: "name" }, el("a", { href: `/tables/${encodeURIComponent(t.name)}`, text: t.name }));
      if (t.last_error) name.append(el("div", { class: "error-line", title: t.last_error, text: t.last_error.split("\n").find((l) => l.trim()) || t.last_error }));
      fragment.append(el("tr", { "data-name": t.name, class: t.state === "failed" ? "failed" : null },
        name,
        el("td", { class: "col-interval", text: inherited ? `${interval(inherited)} (inherited)` : interval(t.interval_minutes) }),
        el("td", { text: t.last_built ? ago(t.last_built) : "never", title: t.last_built ? dateTime(t.last_built) : "" }),
        el("td", { text: duration(t.mean_seconds) }),
        badges, fresh,
        el("td", {}, button(t, false)), el("td", {}, button(t, true))));
    }
    tbody.replaceChildren(fragment);
    const hidden = showRemoved.checked ? 0 : rows.filter((t) => t.state === "removed").length;
    count.textContent = `${shown.length} of ${rows.length} tables${only ? ` (${wanted() === "upstream" ? "upstream failed" : wanted()})` : ""}${hidden ? `, ${hidden} removed hidden` : ""}`;
    for (const th of document.querySelectorAll("#tables th[data-key]")) {
      if (th.dataset.key === sort.key) th.dataset.sort = sort.dir; else delete th.dataset.sort;
    }
  }

  async function load() {
    const [tables, graph, sched] = await Promise.all([api("/api/tables"), api("/api/graph"), api("/api/schedule")]);
    rows = tables;
    effective = new Map(graph.nodes.map((n) => [n.name, n.effective_interval_minutes]));
    facts = classify(tables, graph, sched);
    for (const t of rows) if (!t.force) scheduled.delete(t.name);
    render();
  }

  for (const th of document.querySelectorAll("#tables th[data-key]")) {
    th.addEventListener("click", () => {
      const key = th.dataset.key;
      sort = { key, dir: sort.key === key && sort.dir === "desc" ? "asc" : key === "name" ? "asc" : "desc" };
      render();
    });
  }
  search.addEventListener("input", render);
  const refresh = loader("the tables", load);
  onChange(refresh);
  setInterval(render, 30000);
  refresh();
})();
