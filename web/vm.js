// A VM's page: its state and actions, small live graphs from /v1/vms/NAME/stats (every
// second, the last 120 samples) and its serial console (xterm.js with the DOM renderer, over
// the WebSocket /v1/vms/NAME/console).
"use strict";

const vmName = decodeURIComponent(location.pathname.replace(/^\/ui\/vms\//, ""));
const vmPath = "/v1/vms/" + encodeURIComponent(vmName);
const HISTORY = 120;

class Graph {
  constructor(id, color, fmt) {
    this.canvas = document.getElementById("g-" + id);
    this.label = document.getElementById("v-" + id);
    this.color = color;
    this.fmt = fmt;
    this.series = [[], []]; // up to two lines (e.g. read and write)
  }

  push(a, b) {
    this.series[0].push(a);
    if (b !== undefined) this.series[1].push(b);
    for (const s of this.series) while (s.length > HISTORY) s.shift();
    const last = (s) => (s.length ? s[s.length - 1] : null);
    this.label.textContent =
      b === undefined ? this.fmt(last(this.series[0]))
                      : this.fmt(last(this.series[0])) + " / " + this.fmt(last(this.series[1]));
    this.draw();
  }

  draw() {
    const c = this.canvas, g = c.getContext("2d");
    const all = this.series[0].concat(this.series[1]).filter((v) => v !== null);
    const max = Math.max(1e-9, ...all) * 1.1;
    g.clearRect(0, 0, c.width, c.height);
    g.strokeStyle = "#dde1e6";
    g.strokeRect(0.5, 0.5, c.width - 1, c.height - 1);
    // the x scale grows with the samples up to HISTORY, so that a new page shows a line at once
    const span = Math.max(30, ...this.series.map((s) => s.length)) - 1;
    this.series.forEach((s, k) => {
      if (!s.length) return;
      const xy = s.map((v, i) => [c.width - (s.length - 1 - i) * (c.width / span),
                                  c.height - 2 - ((v || 0) / max) * (c.height - 4)]);
      g.beginPath();
      xy.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
      g.strokeStyle = k ? "#b06000" : this.color;
      g.lineWidth = 1.5;
      g.stroke();
      if (!k) { // the area under the first line
        g.lineTo(xy[xy.length - 1][0], c.height);
        g.lineTo(xy[0][0], c.height);
        g.closePath();
        g.fillStyle = this.color + "22";
        g.fill();
      }
    });
  }
}

const graphs = {
  cpu: new Graph("cpu", "#1a73e8", fmtPct),
  mem: new Graph("mem", "#137333", fmtBytes),
  disk: new Graph("disk", "#1a73e8", (v) => fmtBytes(v) + "/s"),
  net: new Graph("net", "#1a73e8", (v) => fmtBytes(v) + "/s"),
};
let prev = null;
let state = null;

function sum(list, key) {
  let n = 0;
  for (const d of list || []) n += d[key] || 0;
  return n;
}

async function poll() {
  let vm;
  try {
    vm = await api("GET", vmPath);
  } catch (e) {
    if (e.status !== 401) showError(e.message);
    return;
  }
  document.getElementById("facts").textContent =
    "- " + vm.config.arch + ", " + vm.cpus + " vCPUs, " + vm.memory_mib + " MiB" +
    (vm.pid ? ", pid " + vm.pid : "") + (vm.last_exit ? ", last exit: " + vm.last_exit : "");
  const st = document.getElementById("state");
  st.textContent = vm.state;
  st.className = "state state-" + vm.state;
  if (vm.state !== state) {
    const was = state;
    state = vm.state;
    actionButtons(document.getElementById("actions"), vmName, vm.state, poll);
    if (vm.state === "running" || vm.state === "paused") {
      if (!socket) openConsole();
    } else if (was !== null) {
      consoleState("(the VM is " + vm.state + ")");
    }
  }
  if (vm.state !== "running" && vm.state !== "paused") {
    prev = null;
    return;
  }
  let s;
  try {
    s = await api("GET", vmPath + "/stats");
  } catch (e) {
    return;
  }
  const now = performance.now() / 1000;
  const disk = sum(s.disks, "read_bytes") + sum(s.disks, "write_bytes");
  const net = sum(s.nets, "rx_bytes") + sum(s.nets, "tx_bytes");
  if (prev && now > prev.t) {
    const dt = now - prev.t;
    graphs.cpu.push(s.cpu_time_s !== undefined ? (100 * (s.cpu_time_s - prev.cpu)) / dt : null);
    graphs.disk.push(Math.max(0, (disk - prev.disk) / dt));
    graphs.net.push(Math.max(0, (net - prev.net) / dt));
  }
  graphs.mem.push(s.rss_kib !== undefined ? s.rss_kib * 1024 : null);
  prev = { t: now, cpu: s.cpu_time_s || 0, disk, net };
}

// --- the serial console ---
const term = new Terminal({ cols: 100, rows: 30, scrollback: 2000, convertEol: false,
                            fontFamily: "DejaVu Sans Mono, monospace", fontSize: 14 });
term.open(document.getElementById("terminal"));
let socket = null;
const encoder = new TextEncoder();

function consoleState(text) {
  document.getElementById("console-state").textContent = text;
}

function openConsole() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + vmPath + "/console");
  ws.binaryType = "arraybuffer";
  socket = ws;
  consoleState("(connecting)");
  ws.onopen = () => consoleState("(connected)");
  ws.onmessage = (ev) => {
    term.write(new Uint8Array(ev.data));
    window.vesselConsoleBytes = (window.vesselConsoleBytes || 0) + ev.data.byteLength;
  };
  ws.onclose = (ev) => {
    consoleState("(closed" + (ev.reason ? ": " + ev.reason : "") + ")");
    if (socket === ws) socket = null;
  };
}

term.onData((d) => {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(d));
});

document.getElementById("title").textContent = vmName;
document.getElementById("crumb").textContent = "/ " + vmName;
document.title = "Vessel - " + vmName;
poll();
setInterval(poll, 1000);
