// What the web console's pages share: API calls with the session cookie, the VM actions and
// number formats. Every call that changes something carries X-Vessel-CSRF (docs/web.md).
"use strict";

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { "X-Vessel-CSRF": "1" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  if (r.status === 401) {
    location.href = "/ui/login";
    throw new ApiError(401, "not logged in");
  }
  let j = null;
  try {
    j = await r.json();
  } catch (e) {
    j = null;
  }
  if (!r.ok) {
    const msg = j && j.error ? j.error.message : "HTTP " + r.status;
    throw new ApiError(r.status, msg);
  }
  return j;
}

// The actions a VM in each state allows (the API answers 409 to the others anyway).
const ACTIONS = [
  { name: "start", label: "Start", states: ["created", "stopped", "crashed"] },
  { name: "pause", label: "Pause", states: ["running"] },
  { name: "resume", label: "Resume", states: ["paused"] },
  { name: "stop", label: "Stop", states: ["running", "paused"] },
  { name: "snapshot", label: "Snapshot", states: ["running", "paused"] },
  { name: "delete", label: "Delete", states: ["created", "stopped", "crashed", "migrated"] },
];

let snapshotDir = null;

async function vmAction(vm, action) {
  const id = encodeURIComponent(vm);
  if (action === "delete") {
    if (!confirm("Delete VM " + vm + "?")) return null;
    return api("DELETE", "/v1/vms/" + id);
  }
  if (action === "snapshot") {
    if (snapshotDir === null) {
      const h = await api("GET", "/v1/host");
      snapshotDir = (h.allowed_dirs && h.allowed_dirs[1]) || "";
    }
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
    const path = prompt("Snapshot file (a directory the daemon allows):",
                        snapshotDir + "/" + vm + "-" + stamp + ".snap");
    if (!path) return null;
    const j = await api("POST", "/v1/vms/" + id + "/snapshot", { path, then: "resume" });
    showNotice("Snapshot of " + vm + " written to " + j.path + " in " + j.ms + " ms (paused " +
               j.paused_ms + " ms)");
    return j;
  }
  return api("POST", "/v1/vms/" + id + "/" + action);
}

function actionButtons(container, vm, state, after) {
  container.replaceChildren();
  for (const a of ACTIONS) {
    const b = document.createElement("button");
    b.textContent = a.label;
    b.dataset.action = a.name;
    b.disabled = !a.states.includes(state);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await vmAction(vm, a.name);
        showError("");
      } catch (e) {
        showError(a.label + " " + vm + ": " + e.message);
      }
      after();
    });
    container.appendChild(b);
  }
}

function showNotice(text) {
  const e = document.getElementById("notice");
  if (e) e.textContent = text;
}

function showError(text) {
  const e = document.getElementById("error");
  if (e) e.textContent = text;
}

function fmtBytes(n) {
  if (n === undefined || n === null) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i ? n.toFixed(1) : n.toFixed(0)) + " " + units[i];
}

function fmtPct(x) {
  return x === null || x === undefined ? "-" : x.toFixed(1) + " %";
}

document.addEventListener("DOMContentLoaded", () => {
  const lo = document.getElementById("logout");
  if (lo)
    lo.addEventListener("click", async () => {
      await fetch("/ui/logout", { method: "POST", headers: { "X-Vessel-CSRF": "1" } });
      location.href = "/ui/login";
    });
});
