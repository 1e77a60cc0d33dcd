// The operators' dashboard: plain JavaScript over the GraphQL API, no build step.
//
// One graphql-transport-ws connection carries two subscriptions (occupancy and
// alerts); queries go over HTTP. Views (hash routes):
//   #/                 live zones and open alerts
//   #/zone/ID?...      a zone's flow and occupancy curve over a timeframe
//                      (or ?from=ISO&to=ISO&granularity=MINUTE|HOUR|DAY|MONTH)
//   #/alerts           open and recent alerts, resolve
//   #/cameras          status, frame rate, last frame and error, lines drawn
//   #/evacuation       every zone's headcount now, how fresh, offline feeds; printable
// Charts are plotly.js, served by the API from the plotly Python package.
// Every call carries the API key the user signed in with (kept in this
// browser's localStorage): "Authorization: Bearer ..." over HTTP, the same in
// the WebSocket's connection_init payload.
"use strict";

const view = document.getElementById("view");
const statusEl = document.getElementById("status");
const alertCountEl = document.getElementById("alert-count");

const zones = new Map();        // id -> zone (query, then live updates)
let openAlerts = [];            // open alerts, newest first
const resolvedIds = new Set();  // resolved here or live: storage may lag behind the event
let cameras = [];               // from the cameras query, refreshed every few seconds
let live = false;
let apiKey = localStorage.getItem("occ.key") || "";
let me = null;                  // {name, role} of the signed-in key
const RANK = {viewer: 1, operator: 2, admin: 3};
const can = (role) => me && RANK[me.role] >= RANK[role];

class AuthRequired extends Error {}

// -- helpers ------------------------------------------------------------------

const esc = (v) => String(v ?? "").replace(/[&<>"']/g,
  (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const time = (iso, timeZone) => iso ? new Date(iso).toLocaleString(undefined, {timeZone}) : "—";
function ago(iso) {
  if (!iso) return "never";
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${(s / 3600).toFixed(1)} h ago`;
}

const authHeaders = () => ({authorization: "Bearer " + apiKey});

async function gql(query, variables = {}) {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: {"content-type": "application/json", ...authHeaders()},
    body: JSON.stringify({query, variables}),
  });
  if (res.status === 401) throw new AuthRequired("sign in with an API key");
  const body = await res.json();
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data;
}

const ZONE_FIELDS = "id name parentId capacity occupancy entries exits version updatedAt cameraIds";
const ALERT_FIELDS = "alertId kind severity subjectType subjectId message value threshold raisedAt " +
  "resolvedAt resolvedBy resolveReason";
const CAMERA_FIELDS = "id name width height status producerStatus heartbeatAt lastFrameAt " +
  "captureFps processedFps processingMs framesPublished framesDropped reconnects detector lastError " +
  "zoneIds snapshotRequestId snapshotAt snapshotError entriesToday exitsToday " +
  "lines { id points { x y } fromZone toZone allowed anchor entriesToday exitsToday }";

async function loadZones() {
  const data = await gql(`{ zones { ${ZONE_FIELDS} } }`);
  for (const z of data.zones) {
    const known = zones.get(z.id);
    if (!known || known.version <= z.version) zones.set(z.id, z);
  }
}
function setOpenAlerts(list) {
  const seen = new Set();
  openAlerts = list.filter((a) => !resolvedIds.has(a.alertId) && !seen.has(a.alertId) && seen.add(a.alertId))
    .sort((a, b) => (a.raisedAt < b.raisedAt ? 1 : -1));
  alertCountEl.hidden = openAlerts.length === 0;
  alertCountEl.textContent = openAlerts.length;
}
async function loadOpenAlerts() {
  const stored = (await gql(`{ alerts(openOnly: true) { ${ALERT_FIELDS} } }`)).alerts;
  // Keep alerts raised live that storage does not hold yet.
  const ids = new Set(stored.map((a) => a.alertId));
  setOpenAlerts([...stored, ...openAlerts.filter((a) => !ids.has(a.alertId))]);
}
async function loadCameras() { cameras = (await gql(`{ cameras { ${CAMERA_FIELDS} } }`)).cameras; }

function utilClass(z) {
  const u = z.capacity ? z.occupancy / z.capacity : 0;
  return u >= 1 ? "over" : u >= 0.8 ? "warn" : "";
}

// -- live view ------------------------------------------------------------------

function zoneCard(z) {
  const u = z.capacity ? z.occupancy / z.capacity : 0;
  return `<div class="card zone ${utilClass(z)}" id="zone-${esc(z.id)}" data-occupancy="${z.occupancy}">
    <a href="#/zone/${encodeURIComponent(z.id)}"><h3>${esc(z.name)}</h3>
    <div class="occ">${z.occupancy}<span class="cap">${z.capacity ? " / " + z.capacity : ""}</span></div>
    <div class="bar"><div style="width:${Math.min(100, u * 100)}%"></div></div>
    <div class="flow">in ${z.entries} · out ${z.exits}${z.capacity ? ` · ${Math.round(u * 100)}%` : ""}</div>
    <div class="sub">${z.updatedAt ? "updated " + new Date(z.updatedAt).toLocaleTimeString() : "no events yet"}</div></a>
  </div>`;
}

function alertsTable(alerts, {resolvable}) {
  if (!alerts.length) return `<p class="empty">No alerts.</p>`;
  const rows = alerts.map((a) => `<tr data-alert-id="${esc(a.alertId)}" class="${a.resolvedAt ? "resolved" : "open"}">
    <td class="sev-${esc(a.severity)}">${esc(a.severity)}</td>
    <td>${esc(a.kind)}</td><td>${esc(a.subjectType)} ${esc(a.subjectId)}</td>
    <td>${esc(a.message)}</td><td>${time(a.raisedAt)}</td>
    <td>${a.resolvedAt ? `${time(a.resolvedAt)} by ${esc(a.resolvedBy)}: ${esc(a.resolveReason)}` :
      resolvable && can("operator") ? `<form class="resolve">
        <input name="reason" placeholder="reason" required maxlength="1000">
        <button type="submit">Resolve</button><span class="error"></span></form>` : "open"}</td>
  </tr>`).join("");
  return `<table class="alerts"><thead><tr><th>severity</th><th>kind</th><th>subject</th><th>message</th>
    <th>raised</th><th>resolved</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function bindResolve(root) {
  for (const form of root.querySelectorAll("form.resolve")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const id = form.closest("tr").dataset.alertId;
      const reason = form.reason.value.trim();
      try {
        await gql(`mutation ($id: ID!, $reason: String!) {
          resolveAlert(alertId: $id, reason: $reason) { alertId resolvedAt } }`, {id, reason});
        resolvedIds.add(id);
        setOpenAlerts(openAlerts);
        render();
      } catch (e) { form.querySelector(".error").textContent = e.message; }
    });
  }
}

function renderLive() {
  const list = [...zones.values()];
  view.innerHTML = `<div class="grid" id="zones">${list.map(zoneCard).join("")}</div>
    <h2>Open alerts</h2><div id="open-alerts">${alertsTable(openAlerts, {resolvable: true})}</div>`;
  bindResolve(view);
}

// -- alerts view ------------------------------------------------------------------

async function renderAlerts() {
  view.innerHTML = `<h2>Open</h2><div id="open-alerts">${alertsTable(openAlerts, {resolvable: true})}</div>
    <h2>Recent</h2><div id="recent-alerts">loading…</div>`;
  bindResolve(view);
  const recent = (await gql(`{ alerts(openOnly: false, limit: 200) { ${ALERT_FIELDS} } }`)).alerts;
  const el = document.getElementById("recent-alerts");
  if (el) el.innerHTML = alertsTable(recent.filter((a) => a.resolvedAt), {resolvable: false});
}

// -- zone view ------------------------------------------------------------------

const TIMEFRAMES = [["TODAY", "Today"], ["LAST_7_DAYS", "7 days"], ["LAST_30_DAYS", "30 days"],
                    ["THIS_MONTH", "This month"], ["THIS_YEAR", "Year"]];
let zoneRequest = 0;

async function renderZone(id, params) {
  const z = zones.get(id);
  if (!z) { view.innerHTML = `<p class="error">Unknown zone ${esc(id)}.</p>`; return; }
  const frame = params.get("timeframe") || (params.has("from") ? "" : "TODAY");
  view.innerHTML = `<h2>${esc(z.name)} <span class="sub" id="zone-now">now ${z.occupancy}${z.capacity ? " / " + z.capacity : ""}</span></h2>
    <div class="controls noprint">
      <label>Timeframe <select id="timeframe">${frame ? "" : `<option value="" selected>custom</option>`}
        ${TIMEFRAMES.map(([v, t]) => `<option value="${v}" ${v === frame ? "selected" : ""}>${t}</option>`).join("")}
      </select></label>
      <label>Buckets <select id="granularity">
        ${["", "MINUTE", "HOUR", "DAY", "MONTH"].map((g) => `<option value="${g}" ${g === (params.get("granularity") || "").toUpperCase() ? "selected" : ""}>${g ? g.toLowerCase() + "s" : "auto"}</option>`).join("")}
      </select></label>
      <span id="range" class="sub"></span>
      <a id="export-csv" href="#">Export CSV</a>
    </div>
    <div id="flow-chart" class="chart"></div>
    <div id="occupancy-chart" class="chart"></div>
    <p id="zone-error" class="error"></p>`;
  const reroute = () => {
    const q = new URLSearchParams(params);
    const tf = document.getElementById("timeframe").value, g = document.getElementById("granularity").value;
    if (tf) { q.set("timeframe", tf); q.delete("from"); q.delete("to"); }
    if (g) q.set("granularity", g); else q.delete("granularity");
    location.hash = `#/zone/${encodeURIComponent(id)}?${q}`;
  };
  document.getElementById("timeframe").addEventListener("change", reroute);
  document.getElementById("granularity").addEventListener("change", reroute);
  const request = ++zoneRequest;
  try {
    let from, to, granularity;
    if (frame) {
      const r = (await gql(`query ($n: Timeframe!) { timeframe(name: $n) { from to granularity } }`,
        {n: frame})).timeframe;
      ({from, to, granularity} = r);
      // A chosen bucket size overrides the timeframe's (minutes of today, say).
      if (params.get("granularity")) granularity = params.get("granularity").toUpperCase();
    } else {
      // An unencoded "+" of a UTC offset arrives as a space: put it back.
      from = params.get("from")?.replace(" ", "+"); to = params.get("to")?.replace(" ", "+");
      granularity = (params.get("granularity") || "HOUR").toUpperCase();
    }
    const data = await gql(`query ($z: ID!, $g: Granularity!, $f: DateTime!, $t: DateTime!) {
      history(zone: $z, granularity: $g, from: $f, to: $t) { timezone
        series { start entries exits minOccupancy maxOccupancy avgOccupancy } } }`,
      {z: id, g: granularity, f: from, t: to});
    if (request !== zoneRequest) return;  // the user moved on
    const s = data.history.series;
    document.getElementById("range").textContent =
      `${time(from, data.history.timezone)} – ${time(to, data.history.timezone)} ` +
      `(${granularity.toLowerCase()}s, ${data.history.timezone})`;
    const q = new URLSearchParams({zone: id, from, to, granularity: granularity.toLowerCase()});
    const link = document.getElementById("export-csv");
    link.href = `/export/history.csv?${q}`;
    link.onclick = (ev) => { ev.preventDefault(); download(link.href, `${id}-${granularity.toLowerCase()}.csv`); };
    drawZoneCharts(s);
  } catch (e) {
    if (request === zoneRequest) document.getElementById("zone-error").textContent = e.message;
  }
}

async function download(url, name) {
  // A plain link cannot send the key: fetch the file, then hand it to the browser.
  const res = await fetch(url, {headers: authHeaders()});
  if (!res.ok) { alert(await res.text()); return; }
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await res.blob());
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function drawZoneCharts(s) {
  // Buckets come in the plant's time zone; plotly.js has no time zones, so draw
  // the plant's wall time (the ISO text without its offset).
  const x = s.start.map((t) => t.slice(0, 19));
  const layout = (title, ytitle) => ({
    title: {text: title, font: {size: 14}, x: 0.02}, margin: {l: 50, r: 20, t: 40, b: 50},
    yaxis: {title: {text: ytitle}, rangemode: "tozero"},
    legend: {orientation: "h", x: 1, xanchor: "right", y: 1.12},
  });
  Plotly.react("flow-chart", [
    {type: "bar", name: "entries", x, y: s.entries, marker: {color: "#2f80ed"}},
    {type: "bar", name: "exits", x, y: s.exits, marker: {color: "#9b51e0"}},
  ], {...layout("Entries and exits", "people"), barmode: "group"}, {responsive: true, displaylogo: false});
  Plotly.react("occupancy-chart", [
    {type: "scatter", mode: "lines", name: "max", x, y: s.maxOccupancy, line: {width: 0}, showlegend: false},
    {type: "scatter", mode: "lines", name: "min – max", x, y: s.minOccupancy, fill: "tonexty",
     fillcolor: "#2f80ed33", line: {width: 0}},
    {type: "scatter", mode: "lines+markers", name: "average", x, y: s.avgOccupancy,
     line: {color: "#2f80ed"}},
  ], layout("Occupancy", "people"), {responsive: true, displaylogo: false});
}

// -- cameras view ------------------------------------------------------------------

const snapshots = new Map();  // snapshot request id -> loaded <img>

function snapshotImage(cam) {
  // The newest snapshot, once loaded (then the camera is drawn again with it).
  if (!cam.snapshotRequestId || cam.snapshotError) return null;
  let img = snapshots.get(cam.snapshotRequestId);
  if (!img) {
    img = new Image();
    img.onload = () => { if ((route().parts[0] || "") === "cameras") renderCameras(); };
    snapshots.set(cam.snapshotRequestId, img);
    fetch(`/cameras/${encodeURIComponent(cam.id)}/snapshot.jpg`, {headers: authHeaders()})
      .then((res) => (res.ok ? res.blob() : null))
      .then((blob) => { if (blob) img.src = URL.createObjectURL(blob); });
  }
  return img.complete && img.naturalWidth ? img : null;
}

function drawLines(canvas, cam) {
  const ctx = canvas.getContext("2d");
  canvas.width = cam.width; canvas.height = cam.height;
  const unit = cam.width / 320;  // the canvas is shown about 320-480 px wide
  const img = snapshotImage(cam);
  ctx.fillStyle = "#3a3f47"; ctx.fillRect(0, 0, cam.width, cam.height);
  // The snapshot is the camera's frame scaled: stretch it back to the lines' pixel space.
  if (img) ctx.drawImage(img, 0, 0, cam.width, cam.height);
  ctx.fillStyle = img ? "#fff" : "#aab"; ctx.font = `${Math.round(9 * unit)}px system-ui`;
  ctx.fillText(img ? `snapshot ${new Date(cam.snapshotAt).toLocaleTimeString()}` :
    `no snapshot · ${cam.width}×${cam.height} px`, 6 * unit, 14 * unit);
  for (const line of cam.lines) {
    const [a, b] = line.points;
    ctx.strokeStyle = "#f2c94c"; ctx.lineWidth = 2 * unit;
    ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke();
    // "in" is from the left-hand to the right-hand side of a -> b (y down): normal (-dy, dx).
    const mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2, dx = b.x - a.x, dy = b.y - a.y;
    const len = Math.hypot(dx, dy), nx = -dy / len, ny = dx / len, arrow = 14 * unit;
    ctx.strokeStyle = "#6fcf97"; ctx.beginPath(); ctx.moveTo(mx - nx * arrow, my - ny * arrow);
    ctx.lineTo(mx + nx * arrow, my + ny * arrow); ctx.stroke();
    ctx.fillStyle = "#6fcf97"; ctx.beginPath();
    ctx.arc(mx + nx * arrow, my + ny * arrow, 3 * unit, 0, 2 * Math.PI); ctx.fill();
    ctx.fillStyle = "#fff"; ctx.font = `${Math.round(8 * unit)}px system-ui`;
    const oneWay = line.allowed === "both" ? "" : ` (${line.allowed} only)`;
    ctx.fillText(line.id, Math.min(a.x, b.x) + 2 * unit, my - 14 * unit);
    ctx.fillText(`${line.fromZone} → ${line.toZone}${oneWay}`, Math.min(a.x, b.x) + 2 * unit, my - 4 * unit);
  }
}

function renderCameras() {
  if (!cameras.length) { view.innerHTML = `<p class="empty">No cameras configured.</p>`; return; }
  view.innerHTML = `<div class="cameras">${cameras.map((c) => `<div class="card camera" data-camera="${esc(c.id)}">
    <h3>${esc(c.name)} <span class="pill ${esc(c.status)}">${esc(c.status)}</span></h3>
    <canvas class="frame"></canvas>
    <div class="noprint">${can("operator") ? `<button class="snapshot" type="button">Take snapshot</button>` : ""}
      <span class="snap-status sub">${c.snapshotError ? "last answer: " + esc(c.snapshotError) : ""}</span></div>
    <dl>
      <dt>frame rate</dt><dd class="fps">${c.processedFps == null ? "—" : c.processedFps.toFixed(1) + " fps"}</dd>
      <dt>last frame</dt><dd>${ago(c.lastFrameAt)}</dd>
      <dt>heartbeat</dt><dd>${ago(c.heartbeatAt)}${c.producerStatus ? " (" + esc(c.producerStatus) + ")" : ""}</dd>
      <dt>last error</dt><dd class="${c.lastError ? "error" : ""}">${esc(c.lastError || "none")}</dd>
      <dt>detector</dt><dd>${esc(c.detector || "—")}</dd>
      <dt>reconnects</dt><dd>${c.reconnects ?? "—"}</dd>
      <dt>feeds</dt><dd>${c.zoneIds.map(esc).join(", ")}</dd>
      <dt>today</dt><dd class="today">in ${c.entriesToday} · out ${c.exitsToday}</dd>
      ${c.lines.map((ln) => `<dt>${esc(ln.id)}</dt><dd>in ${ln.entriesToday} · out ${ln.exitsToday}</dd>`).join("")}
    </dl></div>`).join("")}</div>`;
  view.querySelectorAll(".camera").forEach((el, i) => {
    drawLines(el.querySelector("canvas"), cameras[i]);
    el.querySelector("button.snapshot")?.addEventListener("click", () => takeSnapshot(el, cameras[i].id));
  });
}

async function takeSnapshot(el, id) {
  const status = el.querySelector(".snap-status");
  status.textContent = "asking the camera…";
  try {
    const req = (await gql(`mutation ($id: ID!) { requestSnapshot(cameraId: $id) { id } }`,
      {id})).requestSnapshot;
    for (let i = 0; i < 40; i++) {  // 20 s: only a producer with --snapshots answers
      await new Promise((r) => setTimeout(r, 500));
      const cam = (await gql(`query ($id: ID!) { camera(id: $id) { ${CAMERA_FIELDS} } }`, {id})).camera;
      if (cam.snapshotRequestId === req.id) {
        cameras = cameras.map((c) => (c.id === id ? cam : c));
        renderCameras();
        return;
      }
    }
    status.textContent = "no answer: is the camera's producer running with --snapshots?";
  } catch (e) { status.textContent = e.message; }
}

// -- evacuation view ------------------------------------------------------------------

function renderEvacuation() {
  const byId = new Map(cameras.map((c) => [c.id, c]));
  const rows = [...zones.values()].map((z) => {
    const down = z.cameraIds.filter((c) => (byId.get(c)?.status ?? "unknown") !== "online");
    return `<tr data-zone="${esc(z.id)}"><td>${esc(z.name)}</td><td class="num headcount">${z.occupancy}</td>
      <td>${z.updatedAt ? `${time(z.updatedAt)} (${ago(z.updatedAt)})` : "no events yet"}</td>
      <td class="feeds">${down.length ? `<span class="warning">camera ${down.map(esc).join(", ")} not online: ` +
        `people passing it are not counted</span>` : "all cameras online"}</td></tr>`;
  }).join("");
  view.innerHTML = `<h2>Evacuation headcount <button class="noprint" onclick="window.print()">Print</button></h2>
    <p class="sub">As of ${new Date().toLocaleString()}. Counts are people who crossed a counted line; ` +
    `check every zone in person.</p>
    <table id="evacuation"><thead><tr><th>zone</th><th class="num">people</th><th>last change</th>
    <th>camera feeds</th></tr></thead><tbody>${rows}</tbody></table>`;
}

// -- router, live updates ------------------------------------------------------------------

function route() {
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  return {parts: path.split("/").filter(Boolean), params: new URLSearchParams(query || "")};
}

function render() {
  const {parts, params} = route();
  const name = parts[0] || "live";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.view === name);
  if (name === "zone") return renderZone(decodeURIComponent(parts[1] || ""), params);
  if (name === "alerts") return renderAlerts();
  if (name === "cameras") return renderCameras();
  if (name === "evacuation") return renderEvacuation();
  return renderLive();
}

function onZoneChange(u) {
  const z = zones.get(u.zoneId);
  if (!z || u.version <= z.version) return;
  Object.assign(z, {occupancy: u.occupancy, entries: u.entries, exits: u.exits, version: u.version,
                    updatedAt: u.at});
  const {parts} = route();
  const name = parts[0] || "live";
  if (name === "live") {
    const el = document.getElementById("zone-" + z.id);
    if (el) el.outerHTML = zoneCard(z);
  } else if (name === "evacuation") {
    renderEvacuation();
  } else if (name === "zone" && decodeURIComponent(parts[1] || "") === z.id) {
    const el = document.getElementById("zone-now");
    if (el) el.textContent = `now ${z.occupancy}${z.capacity ? " / " + z.capacity : ""}`;
  }
}

function onAlert(e) {
  if (e.event === "RESOLVED") {
    resolvedIds.add(e.alertId);
    setOpenAlerts(openAlerts);
  } else if (!resolvedIds.has(e.alertId)) {
    setOpenAlerts([{alertId: e.alertId, kind: e.kind, severity: e.severity, subjectType: e.subjectType,
                    subjectId: e.subjectId, message: e.message, raisedAt: e.at}, ...openAlerts]);
  }
  const name = route().parts[0] || "live";
  if (name === "live" || name === "alerts") render();
}

function subscribe() {
  const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/graphql", "graphql-transport-ws");
  ws.onopen = () => ws.send(JSON.stringify({type: "connection_init",
                                            payload: {Authorization: "Bearer " + apiKey}}));
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "connection_ack") {
      ws.send(JSON.stringify({id: "occ", type: "subscribe", payload: {
        query: "subscription { occupancy { zoneId occupancy entries exits version at } }"}}));
      ws.send(JSON.stringify({id: "alerts", type: "subscribe", payload: {
        query: "subscription { alerts { event alertId kind severity subjectType subjectId message at } }"}}));
      live = true; statusEl.textContent = "live";
    } else if (msg.type === "ping") {
      ws.send(JSON.stringify({type: "pong"}));
    } else if (msg.type === "next" && msg.id === "occ") {
      onZoneChange(msg.payload.data.occupancy);
    } else if (msg.type === "next" && msg.id === "alerts") {
      onAlert(msg.payload.data.alerts);
    } else if (msg.type === "error") {
      statusEl.textContent = "subscription error: " + JSON.stringify(msg.payload);
    }
  };
  ws.onclose = (ev) => {
    live = false;
    if (ev.code === 4403) { showLogin("the API key was refused"); return; }  // at connection_init
    statusEl.textContent = "disconnected, retrying…";
    setTimeout(start, 2000);
  };
}

function showLogin(reason) {
  me = null;
  for (const a of document.querySelectorAll("nav a")) a.classList.remove("active");
  statusEl.textContent = "signed out";
  view.innerHTML = `<form id="login" class="card" style="max-width: 32rem">
    <h2>Sign in</h2>
    <p class="sub">Paste an API key (<code>make up</code> prints the demo admin key; an admin makes
    others with <code>python -m api.auth create</code> or the <code>createApiKey</code> mutation).</p>
    <input name="key" type="password" autocomplete="current-password" placeholder="occ_…" required
      style="width: 100%; box-sizing: border-box">
    <p><button type="submit">Sign in</button> <span class="error">${esc(reason || "")}</span></p></form>`;
  document.getElementById("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    apiKey = ev.target.key.value.trim();
    localStorage.setItem("occ.key", apiKey);
    start();
  });
}

function signOut() {
  localStorage.removeItem("occ.key");
  apiKey = "";
  location.hash = "#/";
  location.reload();
}

async function start() {
  if (!apiKey) { showLogin(); return; }
  try {
    me = (await gql("{ me { name role } }")).me;
    me.role = me.role.toLowerCase();  // the GraphQL enum is VIEWER, OPERATOR, ADMIN
    document.getElementById("who").innerHTML =
      `${esc(me.name)} (${esc(me.role)}) · <a href="#" id="sign-out">sign out</a>`;
    document.getElementById("sign-out").onclick = (ev) => { ev.preventDefault(); signOut(); };
    await Promise.all([loadZones(), loadOpenAlerts(), loadCameras()]);
    render();
    subscribe();
  } catch (e) {
    if (e instanceof AuthRequired) { showLogin(apiKey ? "the API key was refused" : ""); return; }
    statusEl.textContent = "API unreachable, retrying…";
    setTimeout(start, 2000);
  }
}

window.addEventListener("hashchange", () => { if (me) render(); });
setInterval(async () => {
  if (!me) return;  // camera status has no subscription: poll it (and storage's alerts)
  try {
    const before = openAlerts.map((a) => a.alertId).join();
    await Promise.all([loadCameras(), loadOpenAlerts()]);
    const name = route().parts[0] || "live";
    const alertsChanged = openAlerts.map((a) => a.alertId).join() !== before;
    // Re-render the alert lists only when they changed: a half-typed resolve form survives.
    if (name === "cameras" || name === "evacuation" || (alertsChanged && name === "live")) render();
  } catch (e) { /* the next poll tries again; the status line shows connection trouble */ }
}, 5000);
start();
