// EmoStream web app: sign up / log in, then watch the swarm live. The login token lives in this tab's
// sessionStorage only (never in a URL); tickets for the cluster nodes are fetched fresh for every connection.

import { ApiError, connect, listChannels, login, register } from "./api.js";
import { BurstStream } from "./stream.js";
import { Swarm } from "./swarm.js";
import { Chart } from "./chart.js";
import { Pad } from "./pad.js";

const $ = (id) => document.getElementById(id);
const SESSION_KEY = "emostream.session";
const NAME_RULE = /^[A-Za-z0-9_.-]{3,32}$/;
const TIER_DEVICES = { 1: 5, 2: 2, 3: 1 };
const CHANNEL_KEY = "emostream.channel";
const CHANNEL_RULE = /^[a-z0-9_-]{1,64}$/;
const CHANNEL_REFRESH_MS = 4000;

let mode = "login";
let watching = null; // {stream, pad, timer}

// ---- session ---------------------------------------------------------------------------------------------

function loadSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    if (session?.token && Date.parse(session.expires_at) > Date.now() + 60_000) return session;
  } catch { /* no session */ }
  sessionStorage.removeItem(SESSION_KEY);
  return null;
}

function saveSession(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

// ---- sign up / log in ------------------------------------------------------------------------------------

function setMode(next) {
  mode = next;
  const signup = mode === "signup";
  $("tab-login").setAttribute("aria-selected", String(!signup));
  $("tab-signup").setAttribute("aria-selected", String(signup));
  $("tab-login").tabIndex = signup ? -1 : 0;
  $("tab-signup").tabIndex = signup ? 0 : -1;
  $("auth-form").setAttribute("aria-labelledby", signup ? "tab-signup" : "tab-login");
  $("tier-field").hidden = !signup;
  $("auth-submit").textContent = signup ? "Create account" : "Log in";
  $("password").autocomplete = signup ? "new-password" : "current-password";
  showAuthError("");
}

function showAuthError(message, field) {
  $("auth-error").textContent = message;
  for (const id of ["name", "password"]) $(id).removeAttribute("aria-invalid");
  if (field) {
    $(field).setAttribute("aria-invalid", "true");
    $(field).focus();
  }
}

function authMessage(error) {
  switch (error.code) {
    case "name_taken": return ["That name is taken. Pick another one, or log in if it is yours.", "name"];
    case "invalid_credentials": return ["Wrong name or password.", "password"];
    case "invalid_name": return ["Names are 3–32 letters, digits, _ . or -.", "name"];
    case "invalid_password": return ["Passwords are at least 8 characters (at most 72 bytes).", "password"];
    case "invalid_tier": return ["Choose tier 1, 2 or 3.", null];
    case "network": return [error.message, null];
    default: return [error.message || "Something went wrong. Please try again.", null];
  }
}

async function submitAuth(event) {
  event.preventDefault();
  const name = $("name").value.trim();
  const password = $("password").value;
  if (!NAME_RULE.test(name)) return showAuthError("Names are 3–32 letters, digits, _ . or -.", "name");
  if (password.length < 8) return showAuthError("Passwords are at least 8 characters.", "password");
  if (new TextEncoder().encode(password).length > 72) return showAuthError("Passwords are at most 72 bytes.", "password");
  const button = $("auth-submit");
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  showAuthError("");
  try {
    if (mode === "signup") {
      const tier = Number(document.querySelector('input[name="tier"]:checked')?.value || 1);
      await register(name, password, tier);
    }
    const answer = await login(name, password);
    saveSession({ name, token: answer.token, expires_at: answer.expires_at, tier: answer.tier, max_devices: answer.max_devices });
    $("password").value = "";
    startWatching();
  } catch (error) {
    const [message, field] = error instanceof ApiError ? authMessage(error) : ["Something went wrong. Please try again.", null];
    showAuthError(message, field);
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// ---- channels --------------------------------------------------------------------------------------------

/** The channel to watch first: ?channel= in the page's address, else this tab's last one, else main. */
function initialChannel() {
  const fromURL = new URLSearchParams(location.search).get("channel");
  if (fromURL && CHANNEL_RULE.test(fromURL)) return fromURL;
  const saved = sessionStorage.getItem(CHANNEL_KEY);
  return saved && CHANNEL_RULE.test(saved) ? saved : "main";
}

function showChannel(channel) {
  $("channel-name").textContent = channel;
  $("stage-channel").textContent = "· " + channel;
  document.title = `EmoStream · ${channel} · live`;
  sessionStorage.setItem(CHANNEL_KEY, channel);
  const url = new URL(location.href);
  url.searchParams.set("channel", channel);
  history.replaceState(null, "", url);
  for (const button of $("channel-list").querySelectorAll(".channel-button")) {
    button.setAttribute("aria-current", String(button.dataset.channel === channel));
  }
}

function renderChannels(channels, current) {
  const list = $("channel-list");
  const rows = channels.some((c) => c.name === current) ? channels : [{ name: current, viewers: 0, reactions_per_second: 0 }, ...channels];
  list.replaceChildren(...rows.map((channel) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "channel-button";
    button.dataset.channel = channel.name;
    button.dataset.viewers = String(channel.viewers);
    button.dataset.rate = String(channel.reactions_per_second);
    button.setAttribute("aria-current", String(channel.name === current));
    const name = document.createElement("span");
    name.textContent = channel.name;
    const figures = document.createElement("span");
    figures.className = "channel-figures";
    const rate = channel.reactions_per_second;
    figures.textContent = `${channel.viewers} watching · ${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)}/s`;
    button.append(name, figures);
    button.addEventListener("click", () => switchChannel(channel.name));
    item.append(button);
    return item;
  }));
}

async function refreshChannels() {
  if (!watching) return;
  try {
    const answer = await listChannels();
    if (watching) renderChannels(answer.channels, watching.stream.channel);
    $("channels-status").textContent = "Live now, most watched first";
  } catch {
    $("channels-status").textContent = "Channel list unavailable — retrying";
  }
}

function switchChannel(channel) {
  if (!watching) return;
  if (!CHANNEL_RULE.test(channel)) {
    $("channel-input").setAttribute("aria-invalid", "true");
    showBanner("Channel names are 1–64 characters of a–z, 0–9, _ and -.");
    return;
  }
  $("channel-input").removeAttribute("aria-invalid");
  showBanner("");
  watching.stream.switchChannel(channel);
}

function channelRefused(error) {
  const channel = watching?.stream.channel;
  const text = error.code === "unknown_channel"
    ? `That channel is not open. Still watching ${channel}.`
    : error.code === "invalid_channel"
      ? `Channel names are 1–64 characters of a–z, 0–9, _ and -. Still watching ${channel}.`
      : `${error.message || "Could not switch channel."} Still watching ${channel}.`;
  showBanner(text);
  if (channel) showChannel(channel);
}

// ---- watching --------------------------------------------------------------------------------------------

function setConnection(state, text) {
  $("conn-state").dataset.state = state;
  $("conn-text").textContent = text;
}

function showBanner(text) {
  $("banner").hidden = !text;
  $("banner").textContent = text || "";
}

function showNotice(kind, text) {
  $("notice").hidden = !kind;
  $("notice").dataset.kind = kind || "";
  $("notice-text").textContent = text || "";
}

function startWatching() {
  const session = loadSession();
  if (!session) return showAuth();
  document.title = "EmoStream · live";
  $("auth-view").hidden = true;
  $("watch-view").hidden = false;
  $("session").hidden = false;
  const devices = session.max_devices ?? TIER_DEVICES[session.tier];
  const tierPart = document.createElement("span");
  tierPart.className = "tier-part";
  tierPart.textContent = ` · tier ${session.tier} · ${devices} device${devices === 1 ? "" : "s"}`;
  $("user-badge").replaceChildren(session.name, tierPart);

  const swarm = new Swarm({ stage: $("swarm"), log: $("burst-log"), empty: $("stage-empty") });
  const chart = new Chart({ svg: $("chart-svg"), table: $("chart-table") });
  let shown = null; // the channel whose swarm and chart are on screen
  const pad = new Pad({
    grid: $("pad-grid"), status: $("pad-status"), bar: $("cooldown"), user: session.name,
    channel: () => stream.channel,
  });
  const stream = new BurstStream({
    channel: initialChannel(),
    connect: (channel, replaces) => connect(session.token, channel, replaces),
    on: {
      state(kind, detail) {
        if (kind === "connecting") {
          setConnection("connecting", "Connecting…");
        } else if (kind === "reconnecting") {
          setConnection("reconnecting", "Reconnecting…");
          showBanner(`Connection lost${detail.reason ? ` (${detail.reason})` : ""}. Reconnecting — you will not miss a burst.`);
        } else if (kind === "waiting") {
          const seconds = Math.max(1, Math.round(detail.delay / 1000));
          const error = detail.error;
          if (error.code === "tier_limit") {
            const limit = error.body.limit ?? devices;
            setConnection("blocked", "Device limit reached");
            const text = `Your tier allows ${limit} device${limit === 1 ? "" : "s"} at once, and ${limit === 1 ? "it is" : "all are"} in use. ` +
              `Close EmoStream on another device or tab; we will connect as soon as a slot frees up (next try in ${seconds}s).`;
            if (detail.reconnecting) showBanner("Reconnecting — waiting for your previous connection to close…");
            else showNotice("tier_limit", text);
          } else if (error.code === "no_capacity") {
            setConnection("waiting", "Servers are full");
            showNotice("no_capacity", `Every server is full right now. Retrying automatically in ${seconds}s…`);
          } else {
            setConnection("waiting", "Offline");
            showNotice("error", `${error.message} Retrying in ${seconds}s…`);
          }
        }
      },
      hello(message, transport) {
        const channel = message.channel || stream.channel;
        if (channel !== shown) {
          // Another channel: its own swarm, chart and burst numbers.
          if (shown !== null) {
            swarm.reset();
            chart.reset();
            $("last-burst").replaceChildren();
            delete $("last-burst").dataset.seq;
            $("last-window").textContent = "No burst yet.";
            $("seq").textContent = "–";
            $("missed").hidden = true;
          }
          shown = channel;
          showChannel(channel);
          // The list is cached for up to a second: look again once it counts this viewer where it is now.
          refreshChannels();
          setTimeout(refreshChannels, 1200);
        }
        setConnection("live", "Live");
        showBanner("");
        showNotice("");
        $("node-name").textContent = message.node;
        $("transport").textContent = transport === "ws" ? "· WebSocket" : "· Server-Sent Events";
        $("conn-state").dataset.node = message.node;
        $("conn-state").dataset.transport = transport;
      },
      burst(burst, missed) {
        $("seq").textContent = String(burst.seq);
        if (missed) {
          $("missed").hidden = false;
          $("missed").textContent = `${missed} burst${missed === 1 ? "" : "s"} too old to replay`;
        }
        swarm.show(burst);
        chart.add(burst);
        showLastBurst(burst);
      },
      switchFailed(error) {
        channelRefused(error);
      },
      authLost() {
        stopWatching();
        sessionStorage.removeItem(SESSION_KEY);
        showAuth("Your session has expired. Please log in again.");
      },
    },
  });
  watching = { stream, pad, timer: setInterval(refreshChannels, CHANNEL_REFRESH_MS) };
  showChannel(stream.channel);
  stream.start();
  refreshChannels();
}

function showLastBurst(burst) {
  const list = $("last-burst");
  list.dataset.seq = String(burst.seq);
  const start = new Date(burst.window_start).toLocaleTimeString();
  $("last-window").textContent = `Window from ${start} · ${burst.total} reaction${burst.total === 1 ? "" : "s"}`;
  list.replaceChildren(...burst.emojis.map((emoji) => {
    const item = document.createElement("li");
    item.dataset.emoji = emoji.emoji_type;
    item.dataset.count = String(emoji.count);
    item.dataset.scaled = String(emoji.scaled);
    const glyph = document.createElement("span");
    glyph.className = "glyph";
    glyph.textContent = emoji.emoji_type;
    const count = document.createElement("span");
    count.textContent = `${emoji.count.toLocaleString()} → ${emoji.scaled} in the swarm`;
    item.append(glyph, count);
    return item;
  }));
}

function stopWatching() {
  clearInterval(watching?.timer);
  watching?.stream.stop();
  watching?.pad.destroy();
  watching = null;
}

function showAuth(message, focus = false) {
  document.title = "EmoStream · live reactions";
  $("watch-view").hidden = true;
  $("session").hidden = true;
  $("auth-view").hidden = false;
  showBanner("");
  showNotice("");
  setMode("login");
  if (message) showAuthError(message);
  // Not on first load: on a phone that would pop the keyboard over the page.
  if (message || focus) $("name").focus();
}

// ---- wiring ----------------------------------------------------------------------------------------------

$("auth-form").addEventListener("submit", submitAuth);
$("tab-login").addEventListener("click", () => setMode("login"));
$("tab-signup").addEventListener("click", () => setMode("signup"));
$("auth-form").parentElement.querySelector('[role="tablist"]').addEventListener("keydown", (event) => {
  if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
  setMode(mode === "login" ? "signup" : "login");
  $(mode === "login" ? "tab-login" : "tab-signup").focus();
});
$("notice-retry").addEventListener("click", () => watching?.stream.retry());
$("channel-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const channel = $("channel-input").value.trim().toLowerCase();
  if (channel) switchChannel(channel);
  $("channel-input").value = "";
});
$("logout").addEventListener("click", () => {
  stopWatching();
  sessionStorage.removeItem(SESSION_KEY);
  showAuth(undefined, true);
});
window.addEventListener("pagehide", () => watching?.stream.stop());

if (loadSession()) startWatching();
else showAuth();
