// The operator page: log in with the operator password, then poll /api/admin/overview every 2 s and turn the
// pipeline's running totals into rates.
import { api, ApiError } from "./api.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "emostream.operator";
const DEVICES = { 1: 5, 2: 2, 3: 1 };
let timer = null;
let previous = null;

function show(loggedIn) {
  $("admin-login-view").hidden = loggedIn;
  $("admin-view").hidden = !loggedIn;
  $("admin-session").hidden = !loggedIn;
}

function cell(row, text, attributes = {}) {
  const td = document.createElement("td");
  td.textContent = text;
  for (const [key, value] of Object.entries(attributes)) td.setAttribute(key, value);
  row.appendChild(td);
}

function render(overview) {
  const nodes = $("nodes-table").querySelector("tbody");
  nodes.replaceChildren();
  for (const node of overview.nodes) {
    const row = document.createElement("tr");
    row.dataset.node = node.name;
    row.dataset.viewers = node.viewers;
    row.dataset.live = node.live;
    cell(row, node.name);
    cell(row, String(node.viewers));
    cell(row, String(node.capacity));
    cell(row, `${Math.round((100 * node.viewers) / Math.max(node.capacity, 1))}%`);
    cell(row, node.live ? "live" : "down", { class: node.live ? "ok" : "bad" });
    cell(row, new Date(node.last_heartbeat).toLocaleTimeString());
    nodes.appendChild(row);
  }
  const channels = $("channels-table").querySelector("tbody");
  channels.replaceChildren();
  for (const channel of overview.channels ?? []) {
    const row = document.createElement("tr");
    row.dataset.channel = channel.name;
    row.dataset.viewers = channel.viewers;
    row.dataset.rate = channel.reactions_per_second;
    cell(row, channel.name);
    cell(row, String(channel.viewers));
    cell(row, channel.reactions_per_second.toFixed(1));
    channels.appendChild(row);
  }
  $("channels-empty").hidden = (overview.channels ?? []).length > 0;
  const tiers = $("tiers-table").querySelector("tbody");
  tiers.replaceChildren();
  for (const tier of ["1", "2", "3"]) {
    const row = document.createElement("tr");
    row.dataset.tier = tier;
    row.dataset.sessions = overview.sessions_by_tier[tier] ?? 0;
    cell(row, `Tier ${tier}`);
    cell(row, String(DEVICES[tier]));
    cell(row, String(overview.sessions_by_tier[tier] ?? 0));
    tiers.appendChild(row);
  }
  const now = Date.parse(overview.time);
  if (previous && overview.reactions_accepted_total != null) {
    const seconds = Math.max((now - previous.time) / 1000, 0.001);
    const ingest = (overview.reactions_accepted_total - previous.reactions) / seconds;
    const bursts = (overview.bursts_published_total - previous.bursts) / seconds;
    $("ingest-rate").textContent = ingest.toFixed(0);
    $("ingest-rate").dataset.rate = ingest.toFixed(1);
    $("burst-rate").textContent = bursts.toFixed(2);
    $("burst-rate").dataset.rate = bursts.toFixed(2);
  } else if (overview.reactions_accepted_total == null) {
    $("ingest-rate").textContent = "n/a";
    $("burst-rate").textContent = "n/a";
  }
  previous = { time: now, reactions: overview.reactions_accepted_total, bursts: overview.bursts_published_total };
  $("admin-dot").parentElement.dataset.state = "live";
  $("admin-state").textContent = `${overview.nodes.filter((n) => n.live).length} of ${overview.nodes.length} nodes live`;
  $("admin-updated").textContent = `updated ${new Date(now).toLocaleTimeString()}`;
}

async function refresh() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return;
  try {
    render(await api("/api/admin/overview", { method: "GET", token }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      logout();
      $("admin-error").textContent = "Your operator session has ended. Log in again.";
      return;
    }
    $("admin-dot").parentElement.dataset.state = "reconnecting";
    $("admin-state").textContent = "Cannot reach EmoStream — retrying";
  }
}

function start() {
  show(true);
  previous = null;
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, 2000);
}

function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(timer);
  show(false);
}

$("admin-login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("admin-error").textContent = "";
  try {
    const { token } = await api("/api/admin/login", { body: { password: $("admin-password").value } });
    sessionStorage.setItem(TOKEN_KEY, token);
    $("admin-password").value = "";
    start();
  } catch (error) {
    $("admin-error").textContent =
      error.code === "invalid_credentials" ? "Wrong operator password." :
      error.code === "admin_disabled" ? "The operator page is off: start EmoStream with --admin-password." :
      error.message;
    $("admin-password").setAttribute("aria-invalid", "true");
  }
});
$("admin-logout").addEventListener("click", logout);

if (sessionStorage.getItem(TOKEN_KEY)) start(); else show(false);
