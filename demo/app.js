// The rtm demo page, built on the npm package `rtm-sdk` (copied to ./rtm-sdk by `make demo`).
import { RealtimeClient } from "./rtm-sdk/index.js";

const $ = (id) => document.getElementById(id);
const COLORS = ["#4f46e5", "#0891b2", "#16a34a", "#d97706", "#dc2626", "#db2777", "#7c3aed", "#0d9488"];
const ANIMALS = ["Otter", "Lynx", "Heron", "Fox", "Panda", "Koala", "Falcon", "Gecko", "Bison", "Orca"];
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const escape = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// One user per browser (tabs of it merge into one member); the room can come from ?room=.
const params = new URLSearchParams(location.search);
const saved = JSON.parse(localStorage.getItem("rtm-demo") ?? "{}");
$("room").value = params.get("room") ?? saved.room ?? "lobby";
$("name").value = saved.name ?? `${pick(ANIMALS)} ${Math.floor(Math.random() * 90) + 10}`;
$("color").value = saved.color ?? pick(COLORS);
const userId = saved.userId ?? `u-${crypto.randomUUID().slice(0, 8)}`;

const client = new RealtimeClient({ baseUrl: location.origin });
let channel = null;
let myConnId = null;
let typingTimer = null;
let typingSent = false;

// ---- connection badge ----
client.on("connectionStateChange", ({ state, attempt, retryInMs }) => {
  $("badge").dataset.state = state;
  $("badge-text").textContent =
    state === "reconnecting" && retryInMs != null
      ? `reconnecting (attempt ${attempt}, retry in ${(retryInMs / 1000).toFixed(1)} s)`
      : state === "disconnected" ? "offline" : state;
  logSystem(`connection ${state}`);
});

// ---- joining ----
$("join-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const room = $("room").value.trim();
  const name = $("name").value.trim();
  const color = $("color").value;
  if (!room || !name) return;
  localStorage.setItem("rtm-demo", JSON.stringify({ room, name, color, userId }));
  $("join-button").disabled = true;
  $("join-error").textContent = "";
  try {
    if (client.state !== "connected") await client.connect();
    const joined = await client.joinRoom({
      roomId: room,
      userId,
      state: { name, color, status: "online", text: "", typing: false },
    });
    channel = joined.channel;
    myConnId = joined.response.self.connId;
    enterRoom(room);
  } catch (err) {
    $("join-error").textContent = `Could not join: ${err.message} (${err.code ?? "error"})`;
  } finally {
    $("join-button").disabled = false;
  }
});

function enterRoom(room) {
  history.replaceState(null, "", `?room=${encodeURIComponent(room)}`);
  $("room-name").textContent = room;
  $("join-card").classList.add("hidden");
  $("room-view").classList.remove("hidden");

  channel.on("presenceEvent", (e) => {
    logEvent(e.type, e);
    renderMembers();
  });
  channel.on("snapshot", renderMembers);
  channel.on("reconnected", ({ snapshot }) => {
    myConnId = channel.self?.connId ?? myConnId;
    logSystem(`rejoined: ${snapshot.length} connection(s) here`);
    renderMembers();
    recoverMessages();
  });
  channel.on("storageChanged", (change) => {
    logEvent("storage", change);
    renderBoard();
  });
  channel.on("storageLoaded", renderBoard);
  channel.on("disconnected", ({ reason }) => logSystem(`channel disconnected: ${reason}`));
  channel.on("error", (err) => logSystem(`error ${err.code}: ${err.message}`));
  channel.on("heartbeatAck", ({ rttMs }) => ($("rtt").textContent = `${rttMs} ms`));
  channel.on("chat:message", addMessage);
  renderMembers();
  renderBoard();
  loadHistory();
  setInterval(renderMembers, 5000); // keeps "active … ago" fresh
}

// ---- presence list ----
function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 5 ? "active now" : s < 60 ? `active ${s}s ago` : `active ${Math.round(s / 60)} min ago`;
}

function renderMembers() {
  if (!channel) return;
  const members = channel.members();
  $("members").innerHTML = members
    .map((m) => {
      const st = m.state ?? {};
      const name = st.name || m.userId;
      const mine = m.userId === userId;
      const typing = m.connections.some((c) => c.state?.typing);
      const status = ["online", "away", "busy"].includes(st.status) ? st.status : "online";
      const detail = typing
        ? `<span class="typing-dot">typing…</span>`
        : escape(st.text || status) + ` · ${ago(m.lastSeenMs)}`;
      const tabs = m.connections.length > 1 ? `<span class="tabs">×${m.connections.length} tabs</span>` : "";
      return `<li class="member" data-user="${escape(m.userId)}" data-name="${escape(name)}" data-status="${status}">
        <div class="avatar" style="background:${escape(st.color || "#64748b")}">${escape(name.slice(0, 1).toUpperCase())}
          <span class="presence ${status}"></span></div>
        <div class="who"><div class="name">${escape(name)}${mine ? '<span class="you">you</span>' : ""}${tabs}</div>
          <div class="detail">${detail}</div></div></li>`;
    })
    .join("");
  const typers = members
    .filter((m) => m.userId !== userId && m.connections.some((c) => c.state?.typing))
    .map((m) => m.state?.name || m.userId);
  $("typing").textContent = typers.length ? `${typers.join(", ")} ${typers.length > 1 ? "are" : "is"} typing…` : "";
}

// ---- my status ----
$("status-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  await update({ status: $("status").value, text: $("status-text").value.trim() });
});

async function update(patch) {
  try {
    await channel.updateState(patch);
  } catch (err) {
    logSystem(`update failed: ${err.code}`);
  }
  renderMembers();
}

// ---- chat ----
async function loadHistory() {
  try {
    const { messages } = await channel.emit("chat:history", { roomId: channel.roomId, limit: 50 }, { ack: true });
    $("messages").innerHTML = "";
    messages.forEach(addMessage);
  } catch (err) {
    logSystem(`history failed: ${err.code}`);
  }
}

// After a reconnect: exactly the messages missed (docs/protocol.md, "Seeing every message
// once"); addMessage skips those that also arrived live.
async function recoverMessages() {
  const last = $("messages").lastElementChild?.dataset.msg;
  if (!last) return loadHistory();
  try {
    const { messages, gap } = await channel.emit("chat:history", { roomId: channel.roomId, after: last }, { ack: true });
    if (gap) return loadHistory();
    messages.forEach(addMessage);
  } catch (err) {
    logSystem(`history failed: ${err.code}`);
  }
}

function addMessage(msg) {
  if (document.querySelector(`[data-msg="${CSS.escape(msg.msgId)}"]`)) return;
  const member = channel.members().find((m) => m.userId === msg.userId);
  const name = member?.state?.name || msg.userId;
  const li = document.createElement("li");
  li.className = `message${msg.userId === userId ? " mine" : ""}`;
  li.dataset.msg = msg.msgId;
  li.innerHTML = `<div class="meta">${escape(name)} · ${new Date(msg.ts).toLocaleTimeString()}</div>${escape(msg.message)}`;
  $("messages").append(li);
  $("messages").scrollTop = $("messages").scrollHeight;
}

$("chat-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const message = $("chat-input").value.trim();
  if (!message) return;
  $("chat-input").value = "";
  setTyping(false);
  try {
    await channel.emit("chat:send", { roomId: channel.roomId, message }, { ack: true, timeoutMs: 5000 });
  } catch (err) {
    logSystem(`send failed: ${err.code}`);
    $("chat-input").value = message;
  }
});

// "typing…": true while keys are pressed, false after 2 s of quiet.
$("chat-input").addEventListener("input", () => {
  setTyping(true);
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => setTyping(false), 2000);
});

function setTyping(on) {
  if (!channel || typingSent === on) return;
  typingSent = on;
  channel.updateState({ typing: on }).catch(() => {});
}

// ---- misc ----
$("copy-link").addEventListener("click", async () => {
  await navigator.clipboard?.writeText(location.href).catch(() => {});
  $("copy-link").textContent = "Copied!";
  setTimeout(() => ($("copy-link").textContent = "Copy link"), 1500);
});

$("leave").addEventListener("click", async () => {
  await channel?.leave();
  channel = null;
  $("room-view").classList.add("hidden");
  $("join-card").classList.remove("hidden");
});

$("clear-log").addEventListener("click", () => ($("events").innerHTML = ""));

function logEvent(kind, data) {
  const li = document.createElement("li");
  li.innerHTML = `<span class="kind ${escape(kind)}">${escape(kind)}</span>${escape(JSON.stringify(data))}`;
  $("events").prepend(li);
  while ($("events").children.length > 200) $("events").lastChild.remove();
}

function logSystem(text) {
  logEvent("sys", text);
  $("events").firstChild.querySelector(".kind").className = "kind sys";
}

window.rtmDemo = { client, ready: true };

// ---- room board: the room's storage ----
function renderBoard() {
  const topic = channel.storage.get("topic");
  $("topic").textContent = topic ? topic : "No topic yet.";
  $("cheers").textContent = String(channel.storage.get("cheers") ?? 0);
}

$("topic-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const topic = $("topic-input").value.trim();
  if (!topic || !channel) return;
  try {
    await channel.storage.set("topic", topic);
    $("topic-input").value = "";
  } catch (err) {
    logSystem(`topic not set: ${err.code}`);
  }
});

// A compare-and-set increment: everyone's clicks count, however many click at once.
$("cheer").addEventListener("click", async () => {
  if (!channel) return;
  try {
    await channel.storage.update("cheers", (n) => (n ?? 0) + 1);
  } catch (err) {
    logSystem(`cheer failed: ${err.code}`);
  }
});
