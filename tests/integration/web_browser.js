// The browser half of test_web.py: drives Debian's chromium through playwright-core (from
// the tools cache: scripts/setup-web.sh) over the web console of a daemon test_web.py started.
// Prints "PASS what" / "FAIL what: detail" lines, a "MEASURE name value" line per measurement,
// and takes screenshots; test_web.py counts the lines. Every wait is bounded.
// Environment: WEB_URL (http://127.0.0.1:PORT), WEB_TOKEN, WEB_VM (a running VM's name),
// WEB_SHOTS (the screenshot directory), PLAYWRIGHT_CORE (the package's directory),
// CHROMIUM (the browser binary), WEB_SCALE (multiplies the waits).
"use strict";
const path = require("path");
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const base = process.env.WEB_URL, vm = process.env.WEB_VM, shots = process.env.WEB_SHOTS;
const scale = Number(process.env.WEB_SCALE || "1");
const T = (ms) => Math.round(ms * scale);
let failed = 0;

function check(what, ok, detail) {
  if (ok) console.log("PASS web browser: " + what);
  else {
    failed++;
    console.log("FAIL web browser: " + what + (detail ? ": " + String(detail).slice(0, 1500) : ""));
  }
  return ok;
}

async function step(what, fn) {
  try {
    const detail = await fn();
    return check(what, true, detail);
  } catch (e) {
    return check(what, false, e && e.message ? e.message.split("\n")[0] : e);
  }
}

// The terminal's text as the DOM renderer shows it (rows joined by newlines).
async function termText(page) {
  return page.evaluate(() => {
    const rows = document.querySelector(".xterm-rows");
    return rows ? Array.from(rows.children, (r) => r.textContent).join("\n") : "";
  });
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    timeout: T(60000),
  });
  const errors = [];
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(T(20000));
    page.on("pageerror", (e) => errors.push(String(e)));

    await step("/ui/ without a session shows the login page", async () => {
      await page.goto(base + "/ui/");
      if (!page.url().endsWith("/ui/login")) throw new Error("at " + page.url());
      await page.screenshot({ path: path.join(shots, "web-login.png"), fullPage: true });
    });
    await step("a wrong token is refused on the login page", async () => {
      await page.fill("#token", "not-the-token-at-all");
      await page.click("button[type=submit]");
      await page.waitForFunction(() => document.getElementById("status").textContent.includes("Wrong"));
    });
    await step("the token logs in and leads to the dashboard", async () => {
      await page.fill("#token", process.env.WEB_TOKEN);
      await Promise.all([page.waitForURL(base + "/ui/"), page.click("button[type=submit]")]);
    });
    const row = `#vms tr[data-vm="${vm}"]`;
    const stateIs = (s) =>
      page.waitForFunction(([sel, s]) => {
        const c = document.querySelector(sel + " td.state");
        return c && c.textContent === s;
      }, [row, s], { timeout: T(30000) });
    await step("the dashboard lists the VM as running, with arch, vCPUs, memory, CPU and RSS", async () => {
      await stateIs("running");
      // CPU needs two samples (2 s apart): wait for a number there
      await page.waitForFunction((sel) => {
        const t = document.querySelector(sel);
        return t && / %/.test(t.children[5].textContent) && /iB/.test(t.children[6].textContent);
      }, row, { timeout: T(20000) });
      const cells = await page.$$eval(row + " td", (tds) => tds.map((t) => t.textContent));
      if (cells[1] !== "riscv64" || cells[3] !== "1" || cells[4] !== process.env.WEB_VM_MIB + " MiB")
        throw new Error("cells " + JSON.stringify(cells));
      await page.screenshot({ path: path.join(shots, "web-dashboard.png"), fullPage: true });
      return cells.join(" | ");
    });
    await step("the Pause button pauses the VM and the list shows it paused", async () => {
      await page.click(row + ' button[data-action="pause"]');
      await stateIs("paused");
      await page.screenshot({ path: path.join(shots, "web-dashboard-paused.png"), fullPage: true });
    });
    await step("the Resume button resumes it", async () => {
      await page.click(row + ' button[data-action="resume"]');
      await stateIs("running");
    });

    // A second VM through the form and the buttons: create, start, snapshot, stop, delete.
    const row2 = '#vms tr[data-vm="web2"]';
    const state2 = (s) =>
      page.waitForFunction(([sel, s]) => {
        const c = document.querySelector(sel + " td.state");
        return c && c.textContent === s;
      }, [row2, s], { timeout: T(30000) });
    page.on("dialog", (d) => d.accept(d.defaultValue())); // the snapshot's path (its default) and delete's confirm
    await step("the form creates a VM and the list shows it created", async () => {
      await page.click("#create-box summary");
      await page.fill('#create input[name="name"]', "web2");
      await page.fill('#create input[name="kernel"]', process.env.WEB_KERNEL);
      await page.fill('#create input[name="initrd"]', process.env.WEB_INITRD);
      await page.fill('#create input[name="firmware"]', process.env.WEB_FIRMWARE);
      await page.fill('#create input[name="cmdline"]', "console=ttyS0 panic=-1");
      await page.fill('#create input[name="memory_mib"]', process.env.WEB_VM_MIB);
      await page.click('#create button[type="submit"]');
      await state2("created");
    });
    await step("its Start button starts it", async () => {
      await page.click(row2 + ' button[data-action="start"]');
      await state2("running");
    });
    await step("its Snapshot button writes a snapshot (the path the prompt offers)", async () => {
      // the VM process answers on its control socket once it is set up: wait for that
      const until = Date.now() + T(30000);
      while (!(await page.evaluate(async () => {
        const r = await fetch("/v1/vms/web2/stats");
        return r.ok && "vcpus" in (await r.json());
      }))) {
        if (Date.now() > until) throw new Error("web2's control socket does not answer");
        await page.waitForTimeout(200);
      }
      await page.click(row2 + ' button[data-action="snapshot"]');
      await page.waitForFunction(() =>
        /Snapshot .* written|Snapshot web2:/.test(document.getElementById("notice").textContent +
                                                  document.getElementById("error").textContent),
        null, { timeout: T(60000) });
      const err = await page.textContent("#error");
      if (err) throw new Error(err);
      return await page.textContent("#notice");
    });
    await step("its Stop button stops it", async () => {
      await page.click(row2 + ' button[data-action="stop"]');
      await state2("stopped");
    });
    await step("its Delete button deletes it", async () => {
      await page.click(row2 + ' button[data-action="delete"]');
      await page.waitForFunction((sel) => !document.querySelector(sel), row2, { timeout: T(20000) });
    });

    await step("the VM's page opens from its name", async () => {
      await Promise.all([page.waitForURL(base + "/ui/vms/" + vm), page.click(row + " td a")]);
      await page.waitForFunction(() => document.getElementById("state").textContent === "running");
    });
    await step("the console shows the output the guest printed before the page opened", async () => {
      await page.waitForFunction(() => {
        const r = document.querySelector(".xterm-rows");
        return r && r.textContent.includes("vessel#");
      }, null, { timeout: T(20000) });
      const t = await termText(page);
      if (!t.includes("before-page-42")) throw new Error("no earlier output in: " + t.slice(-400));
    });
    await step("a typed command reaches the guest and its answer appears in the DOM", async () => {
      await page.click("#terminal");
      await page.keyboard.type("echo web-$((6*7))\n");
      await page.waitForFunction(() => document.querySelector(".xterm-rows").textContent.includes("web-42"),
        null, { timeout: T(20000) });
    });
    await step("round trips: keystroke to answer in the DOM, 10 commands", async () => {
      const ms = [];
      // the command typed first (its echo seen), then Enter to the answer in the DOM
      const seen = (w) => page.waitForFunction((w) =>
        document.querySelector(".xterm-rows").textContent.includes(w), w, { timeout: T(20000), polling: 2 });
      for (let i = 1; i <= 10; i++) {
        await page.keyboard.type("echo rt-$((" + i + "*7))");
        await seen("echo rt-$((" + i + "*7))");
        const t0 = Date.now();
        await page.keyboard.press("Enter");
        await seen("rt-" + i * 7);
        ms.push(Date.now() - t0);
      }
      ms.sort((a, b) => a - b);
      console.log("MEASURE console_roundtrip_ms_median " + ms[5]);
      console.log("MEASURE console_roundtrip_ms_max " + ms[9]);
      return "median " + ms[5] + " ms, max " + ms[9] + " ms";
    });
    await step("the graphs show CPU, memory, disk and network values", async () => {
      await page.waitForFunction(() =>
        ["cpu", "mem", "disk", "net"].every((k) => /\d/.test(document.getElementById("v-" + k).textContent)),
        null, { timeout: T(20000) });
      const v = await page.$$eval("figcaption span", (s) => s.map((x) => x.textContent));
      await page.screenshot({ path: path.join(shots, "web-vm.png"), fullPage: true });
      return v.join(" | ");
    });
    await step("the page's Pause button pauses the VM from its own page", async () => {
      await page.click('#actions button[data-action="pause"]');
      await page.waitForFunction(() => document.getElementById("state").textContent === "paused",
        null, { timeout: T(20000) });
      await page.click('#actions button[data-action="resume"]');
      await page.waitForFunction(() => document.getElementById("state").textContent === "running",
        null, { timeout: T(20000) });
    });
    await step("the page works offline: no request left the daemon's origin", async () => {
      const outside = await page.evaluate((b) =>
        performance.getEntriesByType("resource").map((e) => e.name).filter((n) => !n.startsWith(b)
          && !n.startsWith(b.replace("http", "ws"))), base);
      if (outside.length) throw new Error(outside.join(" "));
    });
    await step("log out ends the session", async () => {
      await Promise.all([page.waitForURL(base + "/ui/login"), page.click("#logout")]);
      const st = await page.evaluate(async () => (await fetch("/v1/vms")).status);
      if (st !== 401) throw new Error("GET /v1/vms after logout: " + st);
    });
    check("no script errors on the pages", errors.length === 0, errors.join("; "));
  } finally {
    await browser.close();
  }
}

main().then(
  () => process.exit(failed ? 1 : 0),
  (e) => {
    console.log("FAIL web browser: the browser run ended early: " + e);
    process.exit(1);
  }
);
