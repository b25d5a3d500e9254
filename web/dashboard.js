// The dashboard: every VM with its state and resources, refreshed every 2 s, with buttons
// for the API's actions and a form that creates a VM.
"use strict";

const prevCpu = new Map(); // VM id -> [cpu_time_s, time ms]

async function vmRow(vm) {
  let full = null;
  try {
    full = await api("GET", "/v1/vms/" + encodeURIComponent(vm.id));
  } catch (e) {
    full = null;
  }
  const stats = (full && full.stats) || {};
  let cpu = null;
  if (stats.cpu_time_s !== undefined) {
    const now = performance.now();
    const p = prevCpu.get(vm.id);
    if (p && now > p[1]) cpu = (100 * (stats.cpu_time_s - p[0]) * 1000) / (now - p[1]);
    prevCpu.set(vm.id, [stats.cpu_time_s, now]);
  } else {
    prevCpu.delete(vm.id);
  }
  const tr = document.createElement("tr");
  tr.dataset.vm = vm.name;
  const cells = [
    null,
    (full && full.config && full.config.arch) || "-",
    null,
    String(vm.cpus),
    vm.memory_mib + " MiB",
    fmtPct(cpu),
    stats.rss_kib !== undefined ? fmtBytes(stats.rss_kib * 1024) : "-",
  ];
  for (let i = 0; i < cells.length; i++) {
    const td = document.createElement("td");
    if (i === 0) {
      const a = document.createElement("a");
      a.href = "/ui/vms/" + encodeURIComponent(vm.name);
      a.textContent = vm.name;
      td.appendChild(a);
    } else if (i === 2) {
      td.textContent = vm.state;
      td.className = "state state-" + vm.state;
    } else {
      td.textContent = cells[i];
      if (i >= 3) td.className = "num";
    }
    tr.appendChild(td);
  }
  const act = document.createElement("td");
  act.className = "actions";
  actionButtons(act, vm.name, vm.state, refresh);
  tr.appendChild(act);
  return tr;
}

let refreshing = false;

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const list = await api("GET", "/v1/vms");
    const rows = await Promise.all(list.vms.map(vmRow));
    document.querySelector("#vms tbody").replaceChildren(...rows);
    document.getElementById("empty").hidden = list.vms.length > 0;
    if (document.getElementById("error").textContent.startsWith("The daemon")) showError("");
  } catch (e) {
    if (e.status !== 401) showError("The daemon did not answer: " + e.message);
  } finally {
    refreshing = false;
  }
}

async function hostLine() {
  try {
    const h = await api("GET", "/v1/host");
    document.getElementById("host").textContent =
      h.allocated.vms + " VMs, " + h.free.vcpus + " vCPUs and " + h.free.memory_mib + " MiB free";
  } catch (e) {
    /* the table shows the error */
  }
}

document.getElementById("create").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const body = { name: f.get("name"), arch: f.get("arch"), cpus: Number(f.get("cpus")),
                 memory_mib: Number(f.get("memory_mib")), kernel: f.get("kernel") };
  for (const k of ["initrd", "firmware", "cmdline"]) if (f.get(k)) body[k] = f.get(k);
  try {
    await api("POST", "/v1/vms", body);
    showError("");
    ev.target.reset();
  } catch (e) {
    showError("Create: " + e.message);
  }
  refresh();
});

refresh();
hostLine();
setInterval(refresh, 2000);
setInterval(hostLine, 10000);
