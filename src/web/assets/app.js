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
  const cookie = (name) => {
    const hit = document.cookie.split(";").map((c) => c.trim().split("=")).find(([k]) => k === name);
    return hit ? decodeURIComponent(hit[1]) : null;
  };
  // A request that hangs (the server is gone, or the browser has no connection left for it)
  // becomes an error the page shows, never a page that stays blank.
  const TIMEOUT_MS = 20000;
  async function api(path, options = {}) {
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
  const time = (iso) => new Date(iso).toISOString().slice(11, 19);
  const dateTime = (iso) => new Date(iso).toISOString().replace("T", " ").slice(0, 19) + " UTC";
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
    pending = setTimeout(() => { pending = null; listeners.forEach((fn) => fn()); stats(); schedule(); }, 150);
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
      version(e.data);
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
  const colors = { success: "#2e9e44", failed: "#d33b3b", tests_failed: "#e08a00", timeout: "#7b4fc9", cancelled: "#8a8f98", running: "#2a72d4" };
  return { el, api, post, duration, interval, ago, time, dateTime, tip, onChange, loader, live, colors, cookie };
})();
