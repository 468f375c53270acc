// The agent console: one state object from GET /agent/api/me, drawn by render(); every push
// over the WebSocket asks for it again, so the page always shows what the server knows.
"use strict";

const API = "/agent/api";

const STATES = {
  offline: "离线 Offline", available: "示闲 Available", not_ready: "示忙 Not ready",
  ringing: "振铃 Ringing", on_call: "通话中 On a call", wrap_up: "话后处理 Wrap-up",
};
const KINDS = {
  complaint: "投诉 Complaint", repair: "报修 Repair", inquiry: "咨询 Inquiry",
  suggestion: "建议 Suggestion", query: "质疑 Query",
};
const DISPOSITIONS = {
  resolved: "已解决 Resolved", phone_guidance: "电话指导 Phone guidance",
  needs_reply: "待回复 Needs reply", escalated: "升级 Escalated",
};
const CASE_STATUS = { open: "处理中 Open", escalated: "已升级 Escalated", resolved: "已解决 Resolved" };
const IDLE_TEXT = {
  available: "等待来电… · Waiting for a call…",
  not_ready: "示忙中，不会有来电 · Not ready: no calls will ring you",
  offline: "离线，点“示闲”开始接听 · Offline: press Available to take calls",
};

let me = null;            // the last answer of GET /me
let ringClock = null;     // {offerId, elapsedAtStart, startedAt} for the countdown
let callClock = null;     // {callId, startedAt} for the call timer
let socket = null;
let socketDelay = 1000;
let refreshing = null;    // the refresh in flight; a push during it asks for one more
let refreshAgain = false;

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

async function api(path, body) {
  const init = { credentials: "same-origin", method: body === undefined ? "GET" : "POST" };
  if (body !== undefined) {
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && path !== "/login") showLogin();
  if (!response.ok) throw new ApiError(data.error || response.statusText, response.status);
  return data;
}

// --- logging in and out -------------------------------------------------------------------

function showLogin() {
  me = null;
  closeSocket();
  $("who").hidden = true;
  $("desk").hidden = true;
  $("login").hidden = false;
}

async function login(event) {
  event.preventDefault();
  const form = event.target;
  $("login-error").textContent = "";
  try {
    await api("/login", { id: form.id.value.trim(), password: form.password.value });
    form.password.value = "";
    await start();
  } catch (error) {
    $("login-error").textContent = error.status === 401
      ? "工号或密码错误 · Wrong agent ID or password" : error.message;
  }
}

async function logout() {
  try { await api("/logout", {}); } finally { showLogin(); }
}

async function start() {
  await refresh();
  if (me) openSocket();
}

// --- the server's state -------------------------------------------------------------------

async function refresh() {
  if (refreshing) { refreshAgain = true; return refreshing; }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      try {
        render(await api("/me"));
      } catch (error) {
        if (error.status !== 401) notice(`无法刷新 · Could not refresh: ${error.message}`);
      }
    } while (refreshAgain);
  })();
  try { await refreshing; } finally { refreshing = null; }
}

async function act(button, path, body) {
  button.disabled = true;
  try {
    const answer = await api(path, body);
    render(answer);
    return answer;
  } catch (error) {
    if (error.status !== 401) notice(error.message);
    await refresh();
    return null;
  } finally {
    button.disabled = false;
  }
}

// --- drawing ------------------------------------------------------------------------------

function render(state) {
  me = state;
  const agent = state.agent;
  $("login").hidden = true;
  $("desk").hidden = false;
  $("who").hidden = false;
  $("agent-name").textContent = `${agent.name} (${agent.id})`;
  $("state-pill").textContent = STATES[agent.state] || agent.state;
  $("state-pill").dataset.state = agent.state;
  document.body.dataset.state = agent.state;
  renderStateButtons(agent);
  const view = state.offer ? "offer" : agent.state === "on_call" && state.call ? "call"
    : agent.state === "wrap_up" ? "wrapup" : "idle";
  $("offer-card").hidden = view !== "offer";
  $("call-card").hidden = view !== "call";
  $("wrapup-card").hidden = view !== "wrapup";
  $("idle-card").hidden = view !== "idle";
  if (view === "offer") renderOffer(state.offer, state.server_now); else ringClock = null;
  if (view === "call") renderCall(state.call); else callClock = null;
  if (view === "wrapup") renderWrapUp(state.call);
  $("idle-text").textContent = IDLE_TEXT[agent.state] || "";
  renderCases($("my-cases"), state.cases, false);
  $("no-cases").hidden = state.cases.length > 0;
}

function renderStateButtons(agent) {
  const busy = ["ringing", "on_call", "wrap_up"].includes(agent.state);
  for (const button of document.querySelectorAll(".state-btn")) {
    button.classList.toggle("active", button.dataset.state === agent.state);
    button.disabled = busy;
  }
  $("state-hint").textContent = busy ? "通话处理中不能切换状态 · State is locked during a call" : "";
}

function renderOffer(offer, serverNow) {
  if (!ringClock || ringClock.offerId !== offer.id) {
    // Ring time as the server counts it, then this page's own clock: the agent's PC clock may
    // be off, and it does not matter.
    const elapsed = (Date.parse(serverNow) - Date.parse(offer.ring_started_at)) / 1000;
    ringClock = { offerId: offer.id, elapsedAtStart: Math.max(0, elapsed), startedAt: performance.now() };
    const rings = $("rings");
    rings.replaceChildren(...Array.from({ length: offer.rings || 3 }, () => el("div", { className: "ring" }, el("i"))));
  }
  $("offer-caller").textContent = offer.caller;
  const mine = offer.reason === "owner";
  $("offer-reason").textContent = mine ? "您的客户（首问负责）· Your customer" : "队列来电 · From the queue";
  $("offer-reason").classList.toggle("owner", mine);
  renderCases($("offer-cases"), offer.caller_cases, true);
  $("offer-no-cases").hidden = offer.caller_cases.length > 0;
  tickRing();
}

function tickRing() {
  if (!ringClock || !me || !me.offer) return;
  const offer = me.offer;
  const elapsed = ringClock.elapsedAtStart + (performance.now() - ringClock.startedAt) / 1000;
  const remaining = Math.max(0, offer.ring_timeout - elapsed);
  const period = offer.ring_period || offer.ring_timeout / 3;
  const rings = $("rings").children;
  const ring = Math.min(rings.length, Math.floor(elapsed / period) + 1);
  Array.from(rings).forEach((node, i) => {
    const fill = Math.min(1, Math.max(0, (elapsed - i * period) / period));
    node.firstChild.style.width = `${fill * 100}%`;
    node.classList.toggle("done", fill >= 1);
  });
  const over = remaining <= 0;
  $("countdown").classList.toggle("over", over);
  $("countdown-text").textContent = over
    ? "振铃结束 · Ringing over"
    : `第 ${ring}/${rings.length} 声 · Ring ${ring} of ${rings.length} — ${Math.ceil(remaining)} s`;
}

function renderCall(call) {
  if (!callClock || callClock.callId !== call.id) callClock = { callId: call.id, startedAt: performance.now() };
  $("call-caller").textContent = call.caller;
  $("call-case").textContent = call.case ? caseLine(call.case) : "";
  tickCall();
}

function tickCall() {
  if (!callClock) return;
  const seconds = Math.floor((performance.now() - callClock.startedAt) / 1000);
  const mm = String(Math.floor(seconds / 60)).padStart(2, "0");
  $("call-timer").textContent = `${mm}:${String(seconds % 60).padStart(2, "0")}`;
}

function renderWrapUp(call) {
  $("wrapup-caller").textContent = call ? call.caller : "";
  const form = $("wrapup-form");
  const kind = call && call.case && call.case.kind;
  if (kind && !form.querySelector("input[name=kind]:checked")) form.kind.value = kind;
}

function caseLine(c) {
  const kind = c.kind ? KINDS[c.kind] : "未分类 Unclassified";
  return `工单 Case #${c.id} · ${kind} · ${CASE_STATUS[c.status] || c.status} · 负责人 Owner ${c.owner_name}`;
}

function renderCases(table, cases, withOwner) {
  const rows = cases.map((c) => {
    const cells = [el("td", { textContent: `#${c.id}` })];
    if (!withOwner) cells.push(el("td", { textContent: c.customer }));
    cells.push(
      el("td", { textContent: c.kind ? KINDS[c.kind] : "—" }),
      el("td", { textContent: CASE_STATUS[c.status] || c.status, className: `status-${c.status}` }),
    );
    if (withOwner) {
      const owner = c.owner === me.agent.id ? `我 Me` : `${c.owner_name} (${c.owner})`;
      cells.push(el("td", { textContent: owner }));
    }
    cells.push(el("td", { textContent: when(c.opened_at) }));
    if (withOwner) cells.push(el("td", { textContent: c.notes || "", className: "notes", title: c.notes || "" }));
    return el("tr", { className: withOwner && c.owner === me.agent.id ? "mine" : "" }, ...cells);
  });
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = rows.length === 0;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "";
}

// --- notices ------------------------------------------------------------------------------

function notice(text, kind = "warn") {
  const close = el("button", { type: "button", textContent: "×", title: "关闭 Dismiss" });
  const item = el("div", { className: `notice ${kind}` },
    el("div", {}, el("time", { textContent: new Date().toLocaleTimeString("zh-CN", { hour12: false }) }), text),
    close);
  close.addEventListener("click", () => item.remove());
  $("notices").prepend(item);
  while ($("notices").children.length > 6) $("notices").lastChild.remove();
}

const PUSH_NOTICES = {
  colleague_took_call: (m) =>
    `同事 ${m.by} 接听了您的客户 ${m.caller} 的来电（工单 #${m.case_id}）· A colleague (${m.by}) took your customer's call (${m.caller}, case #${m.case_id})`,
  case_transferred: (m) =>
    `${m.by} 将工单 #${m.case_id} 转给了您 · ${m.by} transferred case #${m.case_id} to you`,
  escalated: (m) => `工单 #${m.case_id} 已升级给您 · Case #${m.case_id} was escalated to you`,
  offer_ended: (m) => ({
    missed: "未在三声内接听，已置为示忙 · Missed after three rings: you are now Not ready",
    caller_abandoned: "来电者已挂断 · The caller hung up before you answered",
  })[m.outcome],
};

// --- live pushes --------------------------------------------------------------------------

function openSocket() {
  closeSocket();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/agent/ws`);
  socket = ws;
  ws.onopen = () => { socketDelay = 1000; $("link").dataset.live = "true"; refresh(); };
  ws.onmessage = (event) => onPush(JSON.parse(event.data));
  ws.onclose = () => {
    if (socket !== ws) return;
    $("link").dataset.live = "false";
    socket = null;
    // The session may be over (then /me shows the login), or the server restarting: retry.
    setTimeout(() => { if (me && !socket) refresh().then(() => me && openSocket()); }, socketDelay);
    socketDelay = Math.min(socketDelay * 2, 30000);
  };
}

function closeSocket() {
  if (socket) { const ws = socket; socket = null; ws.close(); }
  $("link").dataset.live = "false";
}

function onPush(message) {
  const say = PUSH_NOTICES[message.kind];
  const text = say && say(message);
  if (text) notice(text, message.kind === "offer_ended" ? "info" : "warn");
  if (message.kind !== "hello") refresh();
}

// --- wiring -------------------------------------------------------------------------------

function choices(container, name, labels) {
  container.replaceChildren(...Object.entries(labels).map(([value, label]) =>
    el("label", {}, el("input", { type: "radio", name, value, required: true }), label)));
}

function armed(button) {
  // A flag ends the call: the first click arms the button for a few seconds, the second sends.
  button.dataset.label = button.dataset.label || button.innerHTML;
  const disarm = () => { button.classList.remove("armed"); button.innerHTML = button.dataset.label; };
  if (button.classList.contains("armed")) { disarm(); return true; }
  button.classList.add("armed");
  button.textContent = "再点一次确认 · Click again to confirm";
  setTimeout(disarm, 4000);
  return false;
}

async function submitWrapUp(event) {
  event.preventDefault();
  const form = event.target;
  $("wrapup-error").textContent = "";
  const body = {
    kind: form.kind.value, disposition: form.disposition.value, notes: form.notes.value,
    rejected: form.rejected.checked, compensation: form.compensation.checked,
  };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    render(await api("/wrapup", body));
    form.reset();
  } catch (error) {
    $("wrapup-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  choices($("kind-choices"), "kind", KINDS);
  choices($("disposition-choices"), "disposition", DISPOSITIONS);
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("wrapup-form").addEventListener("submit", submitWrapUp);
  for (const button of document.querySelectorAll(".state-btn")) {
    button.addEventListener("click", () => act(button, "/state", { state: button.dataset.state }));
  }
  $("accept").addEventListener("click", (e) => act(e.currentTarget, `/offers/${me.offer.id}/accept`, {}));
  $("decline").addEventListener("click", (e) => act(e.currentTarget, `/offers/${me.offer.id}/decline`, {}));
  for (const button of document.querySelectorAll("[data-flag]")) {
    button.addEventListener("click", () => {
      if (armed(button)) act(button, "/flag", { flag: button.dataset.flag });
    });
  }
  setInterval(() => { tickRing(); tickCall(); }, 250);
  start();
});
