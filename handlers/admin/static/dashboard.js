// The admin dashboard: draws /admin/api/* (the numbers of ivr.metrics, as `ivr report` prints
// them). No framework; Chart.js (vendored in ./vendor) draws the charts.
"use strict";

const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);
const state = { month: params.get("month") || "", tz: params.get("tz") || "", charts: {} };
const DISPOSITIONS = ["completed", "answered", "abandoned", "overflow", "queued", "extension",
  "no_answer", "silent_caller", "hung_up_in_menu", "invalid_input", "too_many_inputs",
  "one_way_audio", "malicious", "callback_requested", "flow_error"];
const TARGET_METRICS = ["inquiry_reply_rate", "on_time_reply_rate", "repeat_complaint_rate",
  "satisfaction"];
let liveTimer = null;

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) throw new Unauthorized();
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function query(extra = {}) {
  const q = new URLSearchParams();
  if (state.tz) q.set("tz", state.tz);
  if (state.month) { q.set("from", state.month); q.set("to", state.month); }
  for (const [k, v] of Object.entries(extra)) if (v) q.set(k, v);
  return q.toString();
}

// Times as the report's time zone sees them (the server's default when none is chosen).
const localTime = (iso) => new Date(iso).toLocaleString("zh-CN", state.zone ? { timeZone: state.zone } : {});

const percent = (v) => (v === null || v === undefined ? "n/a" : `${(v * 100).toFixed(1)}%`);

function formatValue(cell, unit) {
  if (!cell || cell.value === null) return "n/a";
  if (unit === "ratio") return percent(cell.value);
  if (unit === "seconds") {
    const s = cell.value;
    return s < 60 ? `${s.toFixed(1)} s` : s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
  }
  if (unit === "count") return String(cell.value);
  return cell.value.toFixed(2);
}

function showLogin(message) {
  clearInterval(liveTimer);
  $("#board").hidden = true;
  $("#controls").hidden = true;
  $("#login").hidden = false;
  const error = $("#login-error");
  error.hidden = !message;
  error.textContent = message || "";
}

async function login(event) {
  event.preventDefault();
  const token = new FormData(event.target).get("token");
  try {
    await api("/admin/api/login", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }) });
    event.target.reset();
    await start();
  } catch (e) {
    showLogin(e instanceof Unauthorized ? "令牌不对 Wrong token" : e.message);
  }
}

async function logout() {
  await api("/admin/api/logout", { method: "POST" });
  showLogin();
}

// --- live numbers ---------------------------------------------------------------------------

async function refreshLive() {
  const live = await api(`/admin/api/live?${query()}`);
  const set = (name, text) => { document.querySelector(`[data-live="${name}"]`).textContent = text; };
  set("in_ivr", live.calls.in_ivr);
  set("waiting", live.calls.waiting);
  set("with_agent", live.calls.with_agent);
  set("longest_wait", live.longest_wait === null ? "" : `(${Math.round(live.longest_wait)} s)`);
  set("three_ring_rate", percent(live.three_ring_rate.value));
  set("service_level", percent(live.service_level.value));
  state.zone = live.tz;
  $("#live-at").textContent = localTime(live.at);
  const states = $("#agent-states");
  states.replaceChildren(...Object.entries(live.agents).sort().map(([s, n]) => {
    const li = document.createElement("li");
    li.dataset.state = s;
    li.textContent = `${s}: ${n}`;
    return li;
  }));
}

// --- the month: targets, report sections, trends ---------------------------------------------

function renderTargets(report) {
  const total = report.rows[0].values;
  state.zone = report.tz;
  $("#report-range").textContent = `${report.from.slice(0, 10)} – ${report.to.slice(0, 10)} ${report.tz}`;
  $("#target-list").replaceChildren(...TARGET_METRICS.map((name) => {
    const meta = report.metrics[name];
    const cell = total[name];
    const li = document.createElement("li");
    li.dataset.metric = name;
    li.className = cell && cell.pass === true ? "pass" : cell && cell.pass === false ? "fail" : "none";
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = formatValue(cell, meta.unit);
    const detail = document.createElement("span");
    const counts = cell && cell.denominator ? ` · ${cell.numerator}/${cell.denominator}` : "";
    detail.textContent = `${meta.label} · 目标 target ${meta.target}${counts}`;
    li.title = meta.definition;
    li.append(value, detail);
    return li;
  }));
}

function renderSections(report) {
  const total = report.rows[0].values;
  const table = document.createElement("table");
  for (const section of report.sections.filter((s) => s.name !== "targets")) {
    const head = table.insertRow();
    const th = document.createElement("th");
    th.colSpan = 2;
    th.textContent = section.title;
    head.append(th);
    for (const name of section.metrics) {
      const row = table.insertRow();
      row.dataset.metric = name;
      row.title = report.metrics[name].definition;
      row.insertCell().textContent = report.metrics[name].label;
      const cell = row.insertCell();
      cell.className = "num";
      cell.textContent = formatValue(total[name], report.metrics[name].unit);
    }
  }
  $("#report-sections").replaceChildren(table);
}

function chart(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  config.options = { animation: false, responsive: true, maintainAspectRatio: false, ...config.options };
  state.charts[id] = new Chart($(`#${id}`), config);
}

function renderTrend(trend) {
  const labels = trend.periods.map((p) => p.slice(5, 10));
  const rate = (name, color) => ({
    label: trend.labels[name], data: trend.series[name].map((v) => (v === null ? null : v * 100)),
    borderColor: color, backgroundColor: color, spanGaps: true, tension: 0,
  });
  chart("rates-chart", {
    type: "line",
    data: { labels, datasets: [rate("three_ring_rate", "#1f6fb2"), rate("service_level", "#2a9d5b"),
      rate("satisfaction", "#c98a12"), rate("abandon_rate", "#c0262d")] },
    options: { scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } } },
  });
  chart("calls-chart", {
    type: "bar",
    data: { labels, datasets: [{ label: trend.labels.calls, data: trend.series.calls,
      backgroundColor: "#5b7fa6" }] },
    options: { plugins: { legend: { display: false } } },
  });
}

function renderDepartments(data) {
  $("#dept-year").textContent = String(data.year);
  chart("dept-chart", {
    type: "bar",
    data: {
      labels: data.departments.map((d) => d.department),
      datasets: [{ label: "回访率 callback rate",
        data: data.departments.map((d) => (d.callback_completion_rate === null ? 0 : d.callback_completion_rate * 100)),
        backgroundColor: "#2a9d5b" }],
    },
    options: { plugins: { legend: { display: false } },
      scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } } },
  });
}

// --- calls and their timelines ----------------------------------------------------------------

async function loadCalls() {
  const disposition = $("#disposition-filter").value;
  const data = await api(`/admin/api/calls?${query({ disposition, limit: "50" })}`);
  $("#calls-table tbody").replaceChildren(...data.calls.map((c) => {
    const row = document.createElement("tr");
    row.dataset.call = `${c.transport}/${c.external_id}`;
    for (const text of [localTime(c.started_at), c.caller, c.disposition || "…", c.agent || ""]) {
      row.insertCell().textContent = text;
    }
    row.addEventListener("click", () => openCall(row, c));
    return row;
  }));
}

async function openCall(row, call) {
  for (const r of document.querySelectorAll("#calls-table tr.open")) r.classList.remove("open");
  row.classList.add("open");
  const record = await api(`/admin/calls/${encodeURIComponent(call.transport)}/${encodeURIComponent(call.external_id)}`);
  $("#timeline-call").textContent = `${record.caller} · ${record.disposition || "…"}`;
  const started = new Date(record.started_at).getTime();
  $("#timeline-events").replaceChildren(...record.events.map((e) => {
    const li = document.createElement("li");
    li.dataset.kind = e.kind;
    const offset = ((new Date(e.at).getTime() - started) / 1000).toFixed(1);
    const data = document.createElement("code");
    data.textContent = Object.keys(e.data).length ? ` ${JSON.stringify(e.data)}` : "";
    li.append(`+${offset} s ${e.kind}`, data);
    return li;
  }));
  $("#timeline").hidden = false;
}

// --- wiring -----------------------------------------------------------------------------------

async function loadMonth() {
  const year = (state.month || new Date().toISOString()).slice(0, 4);
  const [report, trend, departments] = await Promise.all([
    api(`/admin/api/report?${query()}`),
    api(`/admin/api/trend?${query({ every: "day" })}`),
    api(`/admin/api/callback-rate?${query({ year })}`),
  ]);
  renderTargets(report);
  renderSections(report);
  renderTrend(trend);
  renderDepartments(departments);
  await loadCalls();
}

async function start() {
  try {
    await refreshLive();
  } catch (e) {
    if (e instanceof Unauthorized) return showLogin();
    throw e;
  }
  $("#login").hidden = true;
  $("#board").hidden = false;
  $("#controls").hidden = false;
  await loadMonth();
  clearInterval(liveTimer);
  liveTimer = setInterval(() => refreshLive().catch((e) => e instanceof Unauthorized && showLogin()), 5000);
  document.body.dataset.ready = "true";
}

function init() {
  $("#month").value = state.month || new Date().toISOString().slice(0, 7);
  $("#tz").value = state.tz;
  $("#tz").placeholder = "server default";
  for (const d of DISPOSITIONS) $("#disposition-filter").append(new Option(d, d));
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#disposition-filter").addEventListener("change", () => loadCalls());
  $("#controls").addEventListener("submit", (event) => {
    event.preventDefault();
    state.month = $("#month").value;
    state.tz = $("#tz").value.trim();
    document.body.dataset.ready = "false";
    start();
  });
  start();
}

document.addEventListener("DOMContentLoaded", init);
