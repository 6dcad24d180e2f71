// duro UI — shared helpers. Everything is rendered with textContent / createElement: no string
// from the server is ever parsed as HTML.
"use strict";
// A script error is shown on the page rather than leaving it silently empty.
window.addEventListener("error", (e) => {
  const box = document.getElementById("main");
  if (box) box.prepend(Object.assign(document.createElement("p"), { className: "script-error", textContent: `Script error: ${e.message}` }));
});
window.addEventListener("unhandledrejection", (e) => {
  const box = document.getElementById("main");
  if (box) box.prepend(Object.assign(document.createElement("p"), { className: "script-error", textContent: `Script error: ${e.reason && e.reason.message ? e.reason.message : e.reason}` }));
});
const duro = (() => {
  const el = (tag, attrs = {}, ...children) => {
    const node = tag.includes(":") || ["svg", "g", "rect", "line", "text", "path", "circle", "title", "polyline"].includes(tag)
      ? document.createElementNS("http://www.w3.org/2000/svg", tag)
      : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v;
      // Through CSSOM: the Content-Security-Policy refuses style attributes.
      else if (k === "style") node.style.cssText = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };
  // Any SVG element (`el` knows the common ones; this one also makes `a`, `defs`, `marker`, …).
  const svg = (tag, attrs = {}, ...children) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
    node.append(...children);
    return node;
  };
  const cookie = (name) => {
    const hit = document.cookie.split(";").map((c) => c.trim().split("=")).find(([k]) => k === name);
    return hit ? decodeURIComponent(hit[1]) : null;
  };
  // A request that hangs (the server is gone, or the browser has no connection left for it)
  // becomes an error the page shows, never a page that stays blank.
  const TIMEOUT_MS = 20000;
  // Identical GETs in flight at once (the header's counts and the page both read /api/tables)
  // share one request; each caller gets its own copy of the answer, so none sees another's edits.
  const inflight = new Map();
  function api(path, options = {}) {
    if (options.method && options.method !== "GET") return request(path, options);
    if (!inflight.has(path)) inflight.set(path, request(path, options).finally(() => inflight.delete(path)));
    return inflight.get(path).then((body) => structuredClone(body));
  }
  async function request(path, options) {
    let response;
    try {
      const signal = window.AbortSignal && AbortSignal.timeout ? AbortSignal.timeout(TIMEOUT_MS) : undefined;
      response = await fetch(path, { signal, ...options });
    } catch (e) {
      throw new Error(e && e.name === "TimeoutError" ? `no answer from the server within ${TIMEOUT_MS / 1000}s` : `the server cannot be reached (${e && e.message})`);
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(body.error || response.statusText);
      error.status = response.status;
      throw error;
    }
    return body;
  }
  async function post(path, payload) {
    const headers = { "Content-Type": "application/json" };
    const csrf = cookie("duro_csrf");
    if (csrf) headers["X-CSRF-Token"] = csrf;
    try {
      return await api(path, { method: "POST", headers, body: JSON.stringify(payload) });
    } catch (e) {
      if (e.status === 401 || e.status === 403) {
        if (await login()) return api(path, { method: "POST", headers: { ...headers, "X-CSRF-Token": cookie("duro_csrf") || "" }, body: JSON.stringify(payload) });
      }
      throw e;
    }
  }
  async function login() {
    const token = window.prompt("This duro needs its web token to change anything. Token:");
    if (!token) return false;
    await api("/api/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }) });
    return true;
  }
  // Durations: 15s, 1m 25s, 1h 1m, 1d 2h.
  function duration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "";
    let s = Math.round(seconds);
    if (s < 1 && seconds > 0) return `${Math.max(1, Math.round(seconds * 1000))}ms`;
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    s = s % 60;
    const parts = [];
    if (d) parts.push(`${d}d`);
    if (h) parts.push(`${h}h`);
    if (m && !d) parts.push(`${m}m`);
    if (s && !d && !h) parts.push(`${s}s`);
    return parts.join(" ") || "0s";
  }
  const interval = (minutes) => (minutes === null || minutes === undefined ? "" : duration(minutes * 60));
  function ago(iso) {
    if (!iso) return "never";
    const seconds = (Date.now() - Date.parse(iso)) / 1000;
    if (seconds < 45) return "just now";
    return `${duration(seconds).split(" ").slice(0, 2).join(" ")} ago`;
  }
  // Times: local by default, UTC with the header's toggle (kept in localStorage). A local time
  // carries its offset ("(UTC+01:00)"), a UTC one says "UTC", so the two never look alike.
  const store = {
    get: (k) => { try { return window.localStorage.getItem(k); } catch (e) { return null; } },
    set: (k, v) => { try { window.localStorage.setItem(k, v); } catch (e) { /* storage refused */ } },
  };
  const utc = () => store.get("duro-tz") === "utc";
  const pad = (n) => String(n).padStart(2, "0");
  // [YYYY-MM-DD, HH:MM:SS] of a time in the chosen zone.
  function parts(t) {
    const d = new Date(t);
    if (utc()) { const s = d.toISOString(); return [s.slice(0, 10), s.slice(11, 19)]; }
    return [`${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`, `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`];
  }
  function zone(t) {
    if (utc()) return "UTC";
    const off = -new Date(t === undefined ? Date.now() : t).getTimezoneOffset();
    return `(UTC${off < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)})`;
  }
  const time = (iso) => parts(iso)[1];
  const dateTime = (iso) => `${parts(iso).join(" ")} ${zone(Date.parse(iso))}`;
  const tooltip = document.getElementById("tooltip");
  function tip(node, text) {
    node.addEventListener("mousemove", (e) => {
      tooltip.textContent = typeof text === "function" ? text() : text;
      tooltip.hidden = false;
      tooltip.style.left = `${Math.min(e.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8)}px`;
      tooltip.style.top = `${e.clientY + 14}px`;
    });
    node.addEventListener("mouseleave", () => { tooltip.hidden = true; });
  }
  async function stats() {
    const box = document.getElementById("stats");
    try {
      const s = await api("/api/stats?hours=24");
      box.textContent = `Last 24h: ${s.tables} tables, ${s.updates} updates. Load: ${s.load}%`;
    } catch (e) {
      box.textContent = "Stats unavailable";
      box.title = e.message;
    }
  }

  // The banner of a refused schedule: every error (file:line, table, message), until a schedule
  // passes. Built with textContent like everything else.
  const banner = document.getElementById("schedule-banner");
  async function schedule() {
    let s;
    try {
      s = await api("/api/schedule");
    } catch (e) {
      return; // the page's own loader reports an unreachable server; keep what the banner says
    }
    if (s.ok) {
      banner.hidden = true;
      banner.replaceChildren();
      return;
    }
    const n = s.errors.length;
    const items = s.errors.map((e) => {
      const li = el("li", {});
      if (e.file) li.append(el("code", { class: "where", text: e.line ? `${e.file}:${e.line}` : e.file }), " ");
      if (e.table) li.append(el("span", { class: "table", text: `[${e.table}]` }), " ");
      li.append(el("span", { class: "message", text: e.message }));
      return li;
    });
    banner.replaceChildren(
      el("strong", { text: `Schedule refused: the views directory has ${n} error${n === 1 ? "" : "s"}` }),
      el("span", { text: ` (since ${dateTime(s.at)}). duro keeps building the tables of the last schedule that passed; fix the files and schedule again.` }),
      el("ul", {}, ...items));
    banner.hidden = false;
  }

  // Attention first. Each table falls in at most these groups, computed from /api/tables,
  // /api/graph and /api/schedule: failed; overdue (age past its own or inherited interval);
  // running; upstream failed (a table it reads, directly or not, is failed); refused (named in an
  // error of a refused schedule). The header shows the counts on every page as links that filter
  // the tables list and the timeline (`?attention=failed`).
  const KINDS = [["failed", "failed"], ["overdue", "overdue"], ["running", "running"], ["upstream", "upstream failed"], ["refused", "refused"]];
  const wanted = () => {
    const a = new URLSearchParams(window.location.search).get("attention");
    return KINDS.some(([k]) => k === a) ? a : null;
  };
  function classify(tables, graph, sched) {
    const effective = new Map((graph.nodes || []).map((n) => [n.name, n.effective_interval_minutes]));
    const sets = Object.fromEntries(KINDS.map(([k]) => [k, new Set()]));
    const overdue = (t) => {
      const minutes = t.interval_minutes || effective.get(t.name);
      return Boolean(t.last_built && minutes) && Date.now() - Date.parse(t.last_built) > minutes * 60000;
    };
    for (const t of tables) {
      if (t.state === "removed") continue;
      if (t.state === "failed") sets.failed.add(t.name);
      if (t.state === "running") sets.running.add(t.name);
      if (t.state !== "running" && overdue(t)) sets.overdue.add(t.name);
    }
    const consumers = new Map();
    for (const [dep, consumer] of graph.edges || []) {
      if (!consumers.has(dep)) consumers.set(dep, []);
      consumers.get(dep).push(consumer);
    }
    const todo = [...sets.failed];
    while (todo.length) {
      for (const c of consumers.get(todo.pop()) || []) {
        if (!sets.upstream.has(c)) { sets.upstream.add(c); todo.push(c); }
      }
    }
    for (const f of sets.failed) sets.upstream.delete(f);
    const refusedErrors = sched && !sched.ok ? sched.errors : [];
    for (const e of refusedErrors) if (e.table) sets.refused.add(e.table);
    const counts = Object.fromEntries(KINDS.map(([k]) => [k, sets[k].size]));
    counts.refused = refusedErrors.length;
    return { sets, counts };
  }
  // Where a chip leads: the timeline keeps its window, every other page goes to the tables list.
  function chipHref(kind) {
    const page = document.body.dataset.page;
    const q = new URLSearchParams(page === "jobs" || page === "tables" ? window.location.search : "");
    if (wanted() === kind) q.delete("attention"); else q.set("attention", kind);
    const s = q.toString();
    return `${page === "jobs" ? "/" : "/tables"}${s ? `?${s}` : ""}`;
  }
  const header = document.querySelector("header");
  const chips = el("div", { id: "attention", class: "attention", role: "group", "aria-label": "Needs attention" });
  header.querySelector("nav").after(chips);
  async function attention() {
    let facts;
    try {
      const [tables, graph, sched] = await Promise.all([api("/api/tables"), api("/api/graph"), api("/api/schedule")]);
      facts = classify(tables, graph, sched);
    } catch (e) {
      return; // the page's loader reports an unreachable server
    }
    const active = wanted();
    chips.replaceChildren(...KINDS.map(([kind, label]) => el("a", {
      class: `chip ${kind}${facts.counts[kind] ? " some" : ""}${active === kind ? " active" : ""}`,
      href: chipHref(kind), "data-kind": kind, "aria-pressed": active === kind ? "true" : "false",
      title: active === kind ? "Show everything again" : `Only the ${label} tables`,
    }, el("span", { class: "label", text: label }), " ", el("span", { class: "n", text: String(facts.counts[kind]) }))));
  }

  // Comfort: dark mode (the system's choice unless the toggle set one) and local time or UTC,
  // both kept in localStorage.
  const root = document.documentElement;
  const theme = store.get("duro-theme");
  if (theme === "dark" || theme === "light") root.dataset.theme = theme;
  const dark = () => root.dataset.theme ? root.dataset.theme === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  const themeButton = el("button", { type: "button", id: "theme-toggle", class: "toggle" });
  const tzButton = el("button", { type: "button", id: "tz-toggle", class: "toggle" });
  const labelToggles = () => {
    themeButton.textContent = dark() ? "Light" : "Dark";
    themeButton.title = dark() ? "Switch to the light theme" : "Switch to the dark theme";
    tzButton.textContent = utc() ? "UTC" : "Local time";
    tzButton.title = utc() ? "Times are in UTC: show local time" : "Times are local: show UTC";
  };
  themeButton.addEventListener("click", () => {
    root.dataset.theme = dark() ? "light" : "dark";
    store.set("duro-theme", root.dataset.theme);
    labelToggles();
  });
  tzButton.addEventListener("click", () => {
    store.set("duro-tz", utc() ? "local" : "utc");
    labelToggles();
    schedule();
    listeners.forEach((fn) => fn());
  });
  header.append(el("div", { class: "toggles" }, tzButton, themeButton));
  labelToggles();

  // Each page's data is loaded through a loader: "Loading…" until the first answer, then an
  // error with a Retry button whenever a load fails (the content already shown stays). Loads
  // asked for while one runs are run once after it.
  const loadState = document.getElementById("load-state");
  function loader(what, fn) {
    let loaded = false, running = false, again = false;
    async function run() {
      if (running) { again = true; return; }
      running = true;
      if (!loaded) { loadState.hidden = false; loadState.className = "load-state"; loadState.textContent = `Loading ${what}…`; }
      try {
        await fn();
        loaded = true;
        loadState.hidden = true;
        loadState.replaceChildren();
      } catch (e) {
        loadState.hidden = false;
        loadState.className = "load-state error";
        loadState.replaceChildren(`${loaded ? "Could not refresh" : "Could not load"} ${what}: ${e.message}. `,
          el("button", { type: "button", onclick: () => run(), text: "Retry" }));
      } finally {
        running = false;
      }
      if (again) { again = false; run(); }
    }
    return run;
  }

  // Live updates. A browser allows six connections per server over HTTP/1.1, so an event stream
  // per tab left the seventh tab without any. One tab of the browser — the leader, elected with
  // the Web Locks API — holds /api/events and relays each change to the others over a
  // BroadcastChannel; when it closes, the lock passes to another tab. Where either API is missing
  // (a page over plain HTTP from another host is not a secure context and has no locks), pages
  // poll /api/version instead. `duro.live` says which, for the tests.
  const live = { mode: "starting", state: "connecting", changes: 0 };
  const listeners = [];
  function onChange(fn) { listeners.push(fn); }
  let pending = null, seen = null;
  function changed() {
    live.changes += 1;
    if (pending) return;
    pending = setTimeout(() => { pending = null; listeners.forEach((fn) => fn()); stats(); schedule(); attention(); }, 150);
  }
  // A state version from the stream or a poll: a new one means the state changed.
  function version(v, baseline = false) {
    if (v === seen) return;
    const first = seen === null;
    seen = v;
    if (!(first && baseline)) changed();
  }
  const indicator = document.getElementById("live-state");
  const STATES = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", offline: "offline, retrying" };
  let channel = null;
  function setState(state, relay = true) {
    live.state = state;
    indicator.dataset.state = state;
    indicator.dataset.mode = live.mode;
    indicator.textContent = STATES[state] || state;
    indicator.title = live.mode === "poll" ? "Updates by polling every few seconds" : "Live updates, one connection shared by this browser's duro tabs";
    if (relay && channel && live.mode === "leader") channel.postMessage({ type: "state", state });
  }
  function stream() {
    const source = new EventSource("/api/events");
    source.addEventListener("open", () => setState("live"));
    source.addEventListener("change", (e) => {
      channel.postMessage({ type: "change", version: e.data });
      // The stream's first event gives the version the page was loaded at: no change yet.
      version(e.data, true);
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused outright (EventSource gives up): try again a little later.
        setState("offline");
        setTimeout(stream, 5000);
      } else {
        setState("reconnecting");
      }
    });
    window.addEventListener("pagehide", () => source.close());
  }
  function lead() {
    live.mode = "leader";
    setState(live.state);
    stream();
    return new Promise(() => {}); // the lock is held until the page goes away
  }
  function poll() {
    live.mode = "poll";
    setState("connecting");
    let first = true, timer = null, inflight = false;
    const tick = async () => {
      if (inflight) return;
      inflight = true;
      clearTimeout(timer);
      try {
        const r = await api("/api/version");
        if (live.state !== "live") setState("live");
        version(r.version, first);
        first = false;
      } catch (e) {
        setState("offline");
      }
      inflight = false;
      timer = setTimeout(tick, document.hidden ? 15000 : 4000);
    };
    document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); });
    tick();
  }
  let forcePoll = false;
  try { forcePoll = window.localStorage.getItem("duro-live") === "poll"; } catch (e) { /* storage refused */ }
  if (!forcePoll && window.BroadcastChannel && window.EventSource && navigator.locks) {
    live.mode = "follower";
    channel = new BroadcastChannel("duro-live");
    channel.addEventListener("message", (e) => {
      const m = e.data || {};
      if (m.type === "change") version(m.version);
      else if (m.type === "state" && live.mode !== "leader") setState(m.state, false);
      else if (m.type === "hello" && live.mode === "leader") channel.postMessage({ type: "state", state: live.state });
    });
    setState("connecting", false);
    channel.postMessage({ type: "hello" });
    navigator.locks.request("duro-live", lead).catch(() => poll());
  } else {
    poll();
  }
  stats();
  schedule();
  attention();
  const colors = { success: "#2e9e44", failed: "#d33b3b", tests_failed: "#e08a00", timeout: "#7b4fc9", cancelled: "#8a8f98", running: "#2a72d4" };
  return { el, svg, api, post, duration, interval, ago, time, dateTime, parts, zone, utc, tip, onChange, loader, live, colors, cookie, classify, wanted, store };
})();
