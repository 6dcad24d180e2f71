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
  async function api(path, options = {}) {
    const response = await fetch(path, options);
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
      box.textContent = "";
    }
  }
  // Live updates: `change` events from the server, with a polling fallback.
  const listeners = [];
  function onChange(fn) { listeners.push(fn); }
  let pending = null;
  function changed() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; listeners.forEach((fn) => fn()); stats(); }, 150);
  }
  if (window.EventSource) {
    const source = new EventSource("/api/events");
    source.addEventListener("change", changed);
    // Free the connection when leaving: browsers allow only a few per server.
    window.addEventListener("pagehide", () => source.close());
  } else {
    setInterval(changed, 5000);
  }
  stats();
  const colors = { success: "#2e9e44", failed: "#d33b3b", tests_failed: "#e08a00", timeout: "#7b4fc9", cancelled: "#8a8f98", running: "#2a72d4" };
  return { el, api, post, duration, interval, ago, time, dateTime, tip, onChange, colors, cookie };
})();
