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
  ringing: "回访呼叫中，请接听您的电话 · A callback is ringing your phone",  // no offer: a callback
  on_call: "回访通话中 · On a callback",
};
const CALLBACK_REASONS = {
  one_way_audio: ["单通回拨", "One-way audio"], follow_up: ["2小时回访", "2-hour follow-up"],
  complaint_reply: ["答复回访", "Complaint reply"], proactive: ["主动回访", "Proactive"],
  queue_overflow: ["占线回拨", "Queue overflow"],
};
const CALLBACK_STATUS = {
  overdue: "已超时 Overdue", due: "已到期 Due", upcoming: "未到期 Upcoming", calling: "呼叫中 Calling",
};
const CLOSE_OUTCOMES = {
  resolved_by_other_means: ["已通过其他方式解决", "Resolved by other means"],
  customer_declined: ["客户拒绝回访", "Customer declined"],
  wrong_number: ["号码错误", "Wrong number"],
  duplicate: ["重复回访", "Duplicate"],
};
const RESCHEDULE_DAYS = 30;

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
  renderCallbacks(state.callbacks || [], state.server_now);
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

// --- callbacks ----------------------------------------------------------------------------
// The agent's open callbacks, soonest due first. The server marks each due or overdue by its
// own clock; between two refreshes the page moves them on from that clock, not the PC's.

let serverClock = null;     // {base, at}: the server's now at the last /me, and when it came
let callbacks = new Map();  // id → callback, as drawn
let callbackEditor = null;  // {id, mode: "reschedule" | "close", values, error}: the open form
let callbacksDrawn = "";    // what the table shows, to redraw it only when that changes

function serverNow() {
  return serverClock ? serverClock.base + (performance.now() - serverClock.at) : Date.now();
}

function renderCallbacks(list, now) {
  serverClock = { base: Date.parse(now), at: performance.now() };
  showCallbacks(list);
}

function showCallbacks(list) {
  const open = callbackEditor && list.find((c) => c.id === callbackEditor.id);
  if (callbackEditor && (!open || open.status === "calling")) callbackEditor = null;  // gone
  const drawn = JSON.stringify([list, callbackEditor && [callbackEditor.id, callbackEditor.mode]]);
  if (drawn !== callbacksDrawn) {
    callbacksDrawn = drawn;
    callbacks = new Map(list.map((c) => [c.id, c]));
    drawCallbacks(list);
  }
  tickCallbacks();
}

function bilingual(zh, en) {
  return [`${zh} `, el("span", { className: "en", textContent: en })];
}

function drawCallbacks(list) {
  const table = $("callbacks");
  // A push redraws the table: an agent typing in the open form keeps their place.
  const focused = table.contains(document.activeElement) ? document.activeElement.name : null;
  const rows = [];
  for (const c of list) {
    const calling = c.status === "calling";
    const [zh, en] = CALLBACK_REASONS[c.reason] || [c.reason, ""];
    const customer = el("td", { className: "cb-customer" },
      el("strong", { textContent: c.customer }),
      el("span", { className: "cb-reason" }, ...bilingual(zh, en)));
    if (c.attempts > 0) {
      customer.append(el("span", { className: "cb-hint", textContent: `已拨 ${c.attempts} 次 · ${c.attempts} tried` }));
    }
    const button = (action, className, label) => {
      const b = el("button", { type: "button", className: `small ${className}`, disabled: calling }, ...label);
      b.dataset.action = action;
      return b;
    };
    const row = el("tr", { className: `cb-row cb-${c.status}` },
      customer,
      el("td", { className: "cb-when" },
        el("span", { className: "cb-due", textContent: shortWhen(c.due_at) }),
        el("span", { className: "cb-hint" }, "时限 Deadline ",
          el("span", { className: "cb-deadline", textContent: shortWhen(c.deadline) }))),
      el("td", {},
        el("span", { className: "cb-status" }), el("span", { className: "cb-hint cb-left" }),
        el("div", { className: "cb-actions" },
          button("run", "primary", bilingual("立即回拨", "Run now")),
          button("reschedule", "quiet", bilingual("改约", "Reschedule")),
          button("close", "quiet", bilingual("关闭", "Close")))));
    row.dataset.id = c.id;
    rows.push(row);
    if (callbackEditor && callbackEditor.id === c.id) rows.push(editorRow(c));
  }
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = rows.length === 0;
  $("no-callbacks").hidden = rows.length > 0;
  if (focused) table.querySelector(`.cb-form [name="${focused}"]`)?.focus();
}

function editorRow(c) {
  const editor = callbackEditor;
  const form = el("form", { className: "cb-form" });
  form.dataset.id = c.id;
  form.dataset.mode = editor.mode;
  const now = serverNow();
  if (editor.mode === "reschedule") {
    form.append(
      el("label", {}, el("span", {}, ...bilingual("客户约定的时间", "Time the customer agreed")),
        el("input", {
          type: "datetime-local", name: "due_at", required: true, value: editor.values.due_at,
          min: localInput(now + 60_000), max: localInput(now + RESCHEDULE_DAYS * 86_400_000),
        })),
      el("button", { type: "submit", className: "primary small" }, ...bilingual("保存", "Save")));
  } else {
    const outcome = el("select", { name: "outcome", required: true },
      el("option", { value: "", textContent: "请选择结果 · Choose the outcome…" }),
      ...Object.entries(CLOSE_OUTCOMES).map(([value, [zh, en]]) =>
        el("option", { value, textContent: `${zh} ${en}` })));
    outcome.value = editor.values.outcome || "";
    form.append(
      el("label", {}, el("span", {}, ...bilingual("结果", "Outcome")), outcome),
      el("label", { className: "cb-notes" }, el("span", {}, ...bilingual("备注", "Notes")),
        el("textarea", { name: "notes", rows: 2, maxLength: 2000, value: editor.values.notes || "" })),
      el("button", { type: "submit", className: "danger small" }, ...bilingual("确认关闭", "Close it")));
  }
  const cancel = el("button", { type: "button", className: "quiet small" }, ...bilingual("取消", "Cancel"));
  cancel.dataset.action = "cancel";
  form.append(cancel, el("p", { className: "error cb-error", role: "alert", textContent: editor.error || "" }));
  form.addEventListener("input", (event) => { editor.values[event.target.name] = event.target.value; });
  form.addEventListener("submit", submitCallback);
  return el("tr", { className: "cb-editor" }, el("td", { colSpan: 3 }, form));
}

function tickCallbacks() {
  const rows = $("callbacks").tBodies[0].querySelectorAll("tr.cb-row");
  const now = serverNow();
  const counts = { overdue: 0, due: 0, upcoming: 0, calling: 0 };
  for (const row of rows) {
    const c = callbacks.get(Number(row.dataset.id));
    if (!c) continue;
    const due = Date.parse(c.due_at), deadline = Date.parse(c.deadline);
    const status = c.status === "calling" ? "calling"
      : now > deadline ? "overdue" : now >= due ? "due" : "upcoming";
    counts[status] += 1;
    if (row.dataset.status !== status) {
      row.dataset.status = status;
      row.className = `cb-row cb-${status}`;
      row.querySelector(".cb-status").textContent = CALLBACK_STATUS[status];
    }
    const left = status === "overdue" ? duration(-(now - deadline), "超时 ", " late")
      : status === "due" ? duration(deadline - now, "剩 ", " left")
      : status === "upcoming" ? duration(due - now, "", "", "后", "in ") : ["请接听电话", "answer your phone"];
    const text = `${left[0]} · ${left[1]}`;
    const hint = row.querySelector(".cb-left");
    if (hint.textContent !== text) hint.textContent = text;
  }
  const summary = $("callbacks-summary");
  const parts = [];
  if (counts.overdue) parts.push(`${counts.overdue} 超时 overdue`);
  if (counts.due) parts.push(`${counts.due} 到期 due`);
  if (counts.calling) parts.push(`${counts.calling} 呼叫中 calling`);
  if (!parts.length && counts.upcoming) parts.push(`${counts.upcoming} 未到期 upcoming`);
  summary.textContent = parts.join(" · ");
  summary.hidden = parts.length === 0;
  summary.classList.toggle("overdue", counts.overdue > 0);
  summary.classList.toggle("due", counts.overdue === 0 && counts.due > 0);
}

function duration(ms, zhBefore, enAfter, zhAfter = "", enBefore = "") {
  // ms < 0: time gone by, in whole minutes gone; ms > 0: time left, rounded up.
  const minutes = Math.max(1, ms < 0 ? Math.floor(-ms / 60_000) : Math.ceil(ms / 60_000));
  const [n, zh, en] = minutes < 90 ? [minutes, "分钟", "min"]
    : minutes < 48 * 60 ? [Math.round(minutes / 60), "小时", "h"] : [Math.round(minutes / 1440), "天", "d"];
  return [`${zhBefore}${n} ${zh}${zhAfter}`, `${enBefore}${n} ${en}${enAfter}`];
}

function shortWhen(iso) {
  return new Date(iso).toLocaleString("zh-CN", {
    month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false,
  });
}

function localInput(ms) {
  // A datetime-local input's value: the PC's local time, to the minute.
  const d = new Date(ms);
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

function withOffset(local) {
  // "2026-01-05T17:30" (local) → "2026-01-05T17:30:00+08:00": the instant the agent means.
  const offset = -new Date(local).getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const hh = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
  const mm = String(Math.abs(offset) % 60).padStart(2, "0");
  return `${local.length === 16 ? `${local}:00` : local}${sign}${hh}:${mm}`;
}

async function onCallbackClick(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const id = Number((button.closest("tr.cb-row") || button.closest("form")).dataset.id);
  const c = callbacks.get(id);
  const action = button.dataset.action;
  if (action === "cancel") {
    callbackEditor = null;
  } else if (action === "run") {
    if (await act(button, `/callbacks/${id}/run`, {})) {
      notice(`立即回拨 ${c.customer}，您的电话即将振铃 · Calling ${c.customer} back now: your phone will ring`, "info");
    }
    return;
  } else if (callbackEditor && callbackEditor.id === id && callbackEditor.mode === action) {
    callbackEditor = null;  // the same button again: fold the form away
  } else {
    const start = Math.max(Date.parse(c.due_at), serverNow() + 3_600_000);
    callbackEditor = { id, mode: action, values: action === "reschedule" ? { due_at: localInput(start) } : {} };
  }
  showCallbacks([...callbacks.values()]);
  $("callbacks").querySelector(".cb-form [name]")?.focus();
}

async function submitCallback(event) {
  event.preventDefault();
  const form = event.target;
  const id = Number(form.dataset.id);
  const c = callbacks.get(id);
  const mode = form.dataset.mode;
  const body = mode === "reschedule"
    ? { due_at: withOffset(form.elements.due_at.value) }
    : { outcome: form.elements.outcome.value, notes: form.elements.notes.value };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const answer = await api(`/callbacks/${id}/${mode}`, body);
    callbackEditor = null;
    render(answer);
    notice(mode === "reschedule"
      ? `回访 ${c.customer} 改约至 ${shortWhen(answer.callback.due_at)} · Callback to ${c.customer} moved to ${shortWhen(answer.callback.due_at)}`
      : `已关闭回访 ${c.customer} · Closed the callback to ${c.customer}`, "info");
  } catch (error) {
    if (error.status === 401) return;
    if (error.status === 400 && callbackEditor) {
      callbackEditor.error = error.message;
      form.querySelector(".cb-error").textContent = error.message;
    } else {  // not theirs any more, or being placed: show what is true now
      callbackEditor = null;
      notice(error.message);
      await refresh();
    }
  } finally {
    button.disabled = false;
  }
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
  callback: (m) => {
    const [zh, en] = CALLBACK_REASONS[m.reason] || [m.reason, m.reason];
    return `回访（${zh}）：请接听您的电话，随后接通客户 ${m.customer} · Callback (${en}): answer your phone to be connected to ${m.customer}`;
  },
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
  $("callbacks").addEventListener("click", onCallbackClick);
  setInterval(() => { tickRing(); tickCall(); tickCallbacks(); }, 250);
  start();
});
