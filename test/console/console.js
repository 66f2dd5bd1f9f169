// Drives sqlrep's web console in Debian's headless Chromium through puppeteer-core, against
// a real cluster started by test/integration/console_test.cpp, which passes a JSON config
// file:
//   node console.js CONFIG.json
// with {"mode": "cluster" | "auth" | "tls", "chromium", "profile", "pid_file",
// "screenshots", "urls": [master, replica 1, replica 2], "stop_pid" (cluster: replica 2's
// pid), "read_token", "write_token", "admin_token" (auth)}.
//
// Every step is an assertion; the step's screenshot is saved as <screenshots>/NN-name.png
// and its path printed. Prints "PASS <step>" per step and exits 0 when all pass, 1 on the
// first failure (with a screenshot of the failure). Every wait is bounded; the browser is
// closed on the way out, and its pid is written to `pid_file` so the caller can kill it if
// this script is killed first.

"use strict";
const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");

const cfg = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const STEP_TIMEOUT = 30000;
let browser = null;
let currentPage = null;
let shot = 0;
const pageErrors = [];
const dialogs = [];
let confirmAnswer = false;

function log(...args) { console.log(...args); }

async function screenshot(page, name) {
  shot++;
  const file = path.join(cfg.screenshots, String(shot).padStart(2, "0") + "-" + name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  log("screenshot " + file);
  return file;
}

function check(cond, what) {
  if (!cond) throw new Error("assertion failed: " + what);
}

async function openConsole(url, target) {
  const page = await browser.newPage();
  currentPage = page;
  await page.setViewport({ width: 1400, height: 1000 });
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (e) => pageErrors.push("page error: " + e.message));
  page.on("requestfailed", (r) => log("request failed: " + r.method() + " " + r.url() + " " +
                                      (r.failure() ? r.failure().errorText : "")));
  page.on("console", (m) => {
    // A Content-Security-Policy violation (our own inline script or style refused) shows here.
    if (/Content Security Policy|Refused to/i.test(m.text())) pageErrors.push("console: " + m.text());
  });
  // The admin actions' confirm() and the alert() with their outcome: recorded, and
  // answered as the step wants.
  page.on("dialog", (d) => {
    dialogs.push({ type: d.type(), message: d.message() });
    if (d.type() === "confirm" && !confirmAnswer) d.dismiss(); else d.accept();
  });
  const response = await page.goto(url + (target || "/console"), { waitUntil: "load" });
  check(response.status() === 200, "the console page answers 200 (got " + response.status() + ")");
  const headers = response.headers();
  check((headers["content-type"] || "").startsWith("text/html"), "the page is text/html");
  check(/script-src 'sha256-/.test(headers["content-security-policy"] || ""),
        "the page has a strict Content-Security-Policy");
  await page.waitForFunction(() => window.sqlrepConsole !== undefined);
  return page;
}

// Types `sql` (and `params`) into the editor and runs it with Ctrl+Enter; waits for the
// answer. Returns {state, meta, error}.
async function runSql(page, sql, params, command) {
  await page.$eval("#sql", (el, v) => { el.value = v; }, sql);
  await page.$eval("#params", (el, v) => { el.value = v; }, params || "");
  await page.select("#command", command || "auto");
  await page.focus("#sql");
  await page.keyboard.down("Control");
  await page.keyboard.press("Enter");
  await page.keyboard.up("Control");
  await page.waitForFunction(() => {
    const s = document.getElementById("results-panel").dataset.state;
    return s === "ok" || s === "error";
  });
  return page.evaluate(() => ({
    state: document.getElementById("results-panel").dataset.state,
    meta: document.getElementById("result-meta").textContent,
    error: document.getElementById("result-error").textContent,
  }));
}

// The grid of the last query: {columns, types, rows} as the page shows them.
async function readGrid(page) {
  return page.evaluate(() => {
    const table = document.querySelector("#results table.result-grid");
    if (!table) return null;
    const columns = [], types = [];
    table.querySelectorAll("thead th").forEach((th) => {
      columns.push(th.firstChild.textContent);
      types.push(th.querySelector(".type").textContent);
    });
    const rows = [...table.querySelectorAll("tbody tr")].map((tr) =>
      [...tr.querySelectorAll("td")].map((td) => td.textContent));
    return { columns, types, rows };
  });
}

async function waitFor(page, fn, arg, what, timeout) {
  try {
    await page.waitForFunction(fn, { timeout: timeout || STEP_TIMEOUT, polling: 250 }, arg);
  } catch (e) {
    throw new Error("timed out waiting for " + what);
  }
}

function pass(step) { log("PASS " + step); }

// ---- the plain cluster: query, insert, read on a replica, cluster panel, lag chart ----
async function clusterSteps() {
  const [masterUrl, replicaUrl] = cfg.urls;
  // GET / from a browser (Accept: text/html) is the console too.
  const page = await openConsole(masterUrl, "/");
  await waitFor(page, () => window.sqlrepConsole.role === "admin", null, "the open node's role");
  await screenshot(page, "console-open");
  pass("the console opens on GET / of the master, role admin on an open node");

  let r = await runSql(page, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, " +
                             "score REAL); CREATE INDEX users_name ON users(name)");
  check(r.state === "ok", "CREATE TABLE through the console: " + r.error);
  r = await runSql(page, "INSERT INTO users(name, score) VALUES (?, ?)", '["console-alice", 4.5]');
  check(r.state === "ok", "INSERT through the console: " + r.error);
  check(/1 row\(s\) affected/.test(r.meta) && /index \d+/.test(r.meta),
        "the insert's answer shows rows affected and the index: " + r.meta);
  const insertIndex = Number(/index (\d+)/.exec(r.meta)[1]);
  await screenshot(page, "insert-on-master");
  pass("insert through the console on the master");

  r = await runSql(page, "SELECT nonsense FROM users");
  check(r.state === "error" && /no such column: nonsense/.test(r.error),
        "an error is shown as the API words it: " + r.error);
  await screenshot(page, "error-shown");
  pass("an error shows the API's message");

  // The history is kept in the browser, with the params: picking the insert brings both back.
  const history = await page.evaluate(() => JSON.parse(localStorage.getItem("sqlrep.history")));
  check(history.length >= 3 && history[0].sql === "SELECT nonsense FROM users",
        "the history is kept in localStorage, newest first: " + JSON.stringify(history));
  const insertAt = history.findIndex((h) => h.sql.startsWith("INSERT INTO users"));
  check(insertAt >= 0 && history[insertAt].params === '["console-alice", 4.5]',
        "the insert is in the history with its params");
  await page.select("#history", String(insertAt));
  const restored = await page.evaluate(() => [document.getElementById("sql").value,
                                              document.getElementById("params").value]);
  check(restored[0].startsWith("INSERT INTO users") && restored[1] === '["console-alice", 4.5]',
        "picking the history entry restores the SQL and its params: " + restored);
  pass("the history keeps each statement with its params in the browser");

  // The same row, read through the console of a replica.
  const replica = await openConsole(replicaUrl);
  await waitFor(replica, () => window.sqlrepConsole.role === "admin", null, "the replica's console");
  let grid = null;
  const deadline = Date.now() + STEP_TIMEOUT;
  for (;;) {
    r = await runSql(replica, "SELECT id, name, score, typeof(score) AS t FROM users WHERE name = ?",
                     '["console-alice"]');
    check(r.state === "ok", "query on the replica: " + r.error);
    grid = await readGrid(replica);
    if (grid && grid.rows.length === 1) break;
    check(Date.now() < deadline, "the row reached the replica within the step timeout");
    await new Promise((ok) => setTimeout(ok, 250));
  }
  check(JSON.stringify(grid.columns) === '["id","name","score","t"]', "grid columns: " + grid.columns);
  check(grid.types[0] === "INTEGER" && grid.types[1] === "TEXT" && grid.types[2] === "REAL",
        "grid column types: " + grid.types);
  check(grid.rows[0][1] === "console-alice" && grid.rows[0][3] === "real",
        "grid row: " + JSON.stringify(grid.rows[0]));
  check(/^1 row\(s\) · [\d.]+ ms · index \d+$/.test(r.meta), "row count, time, index: " + r.meta);
  await waitFor(replica, () => /users_name/.test(document.getElementById("schema").textContent),
                null, "the schema panel listing users and its index");
  await screenshot(replica, "row-on-replica");
  pass("run a query on a replica and read the grid: the row inserted on the master is there");

  // The cluster panel of the master: every node, in sync.
  await page.bringToFront();
  await waitFor(page, (index) => {
    const o = window.sqlrepConsole.cluster;
    return o && o.verdict === "in_sync" && o.nodes.length === 3 && o.index >= index &&
           o.nodes.every((n) => n.applied_index >= index) &&
           document.querySelectorAll("#cluster tbody tr").length === 3 &&
           document.getElementById("verdict").dataset.verdict === "in_sync";
  }, insertIndex, "the cluster panel to report 3 nodes in sync at the insert's index or later");
  const nodes = await page.evaluate(() => window.sqlrepConsole.cluster.nodes);
  check(nodes.every((n) => n.reachable && n.connected && n.ready), "every node connected and ready");
  check(nodes.filter((n) => n.role === "master").length === 1, "one master");
  const verdict = await page.$eval("#verdict", (el) => el.textContent);
  check(/^IN SYNC at index \d+$/.test(verdict), "verdict text: " + verdict);
  await screenshot(page, "cluster-in-sync");
  pass("the cluster panel reports every node in sync");

  // The lag chart under load: replica 2 paused (SIGSTOP) while the master takes writes, so
  // the master's replica lag rises; then resumed, so it falls back.
  await waitFor(page, () => window.sqlrepConsole.series.lag.length >= 2, null, "lag samples");
  const t0 = Date.now();
  process.kill(cfg.stop_pid, "SIGSTOP");
  let stopped = true;
  try {
    const until = Date.now() + 4000;
    let sent = 0, failed = 0;
    const writer = async () => {
      while (Date.now() < until) {
        const res = await fetch(masterUrl + "/", { method: "POST",
          body: JSON.stringify({ command: "exec", query: "INSERT INTO users(name, score) VALUES (?, ?)",
                                 params: ["load-" + sent++, sent] }) });
        if (!res.ok) failed++;
        await res.text();
      }
    };
    await Promise.all([writer(), writer(), writer(), writer()]);
    log("load: " + sent + " writes sent, " + failed + " failed");
    await waitFor(page, (t) => window.sqlrepConsole.series.lag.some((p) => p.t > t && p.v > 0) &&
                               window.sqlrepConsole.series.writes.some((p) => p.t > t && p.v > 0),
                  t0, "the lag and writes charts to move");
    await screenshot(page, "lag-under-load");
  } finally {
    process.kill(cfg.stop_pid, "SIGCONT");
    stopped = false;
  }
  check(!stopped, "replica resumed");
  await waitFor(page, () => {
    const s = window.sqlrepConsole.series.lag;
    return s.length > 0 && s[s.length - 1].v === 0;
  }, null, "the lag to fall back to 0 once the replica resumed", 60000);
  await screenshot(page, "lag-recovered");
  pass("the lag chart moves under load and falls back");
}

// ---- a node with --auth: the token dialog, a read token sees no write action ----
async function authSteps() {
  const [url] = cfg.urls;
  const page = await openConsole(url);
  await waitFor(page, () => document.getElementById("login").open, null, "the token dialog");
  await screenshot(page, "asks-for-token");
  pass("with --auth the console asks for a token");

  const login = async (token) => {
    await page.$eval("#token", (el, v) => { el.value = v; }, token);
    await page.click("#login-submit");
  };
  await login("not-a-token");
  await waitFor(page, () => /not valid/.test(document.getElementById("login-error").textContent),
                null, "the API's refusal of a wrong token");
  pass("a wrong token is refused with the API's words");

  await login(cfg.read_token);
  await waitFor(page, () => window.sqlrepConsole.role === "read" && !document.getElementById("login").open,
                null, "the read token's role");
  const stored = await page.evaluate(() => ({
    session: sessionStorage.getItem("sqlrep.token"),
    local: JSON.stringify(localStorage),
  }));
  check(stored.session === cfg.read_token, "the token is kept in sessionStorage");
  check(!stored.local.includes(cfg.read_token), "the token is not in localStorage");
  const r = await runSql(page, "SELECT 40 + 2 AS answer");
  check(r.state === "ok", "a read token runs a query: " + r.error);
  const grid = await readGrid(page);
  check(grid && grid.rows[0][0] === "42", "the read token's query result");
  await waitFor(page, () => window.sqlrepConsole.cluster &&
                            document.querySelectorAll("#cluster tbody tr").length === 3,
                null, "the cluster panel for a read token");
  const visibleWrites = await page.evaluate(() => {
    const shown = (el) => !el.hidden && !el.closest("[hidden]") && el.getClientRects().length > 0;
    const actions = [...document.querySelectorAll("[data-write], [data-admin], button.danger")];
    const exec = [...document.getElementById("command").options]
      .filter((o) => o.value === "exec" && !o.hidden && !o.disabled);
    return actions.filter(shown).map((el) => el.outerHTML.slice(0, 80)).concat(exec.map((o) => o.value));
  });
  check(visibleWrites.length === 0, "a read token sees no write action, found: " + visibleWrites);
  await screenshot(page, "read-token-no-write-action");
  pass("logged in with a read token: queries run, no write action is offered");

  // The same check is not vacuous: a write token does get the write option.
  await page.click("#logout");
  await waitFor(page, () => document.getElementById("login").open, null, "the dialog again");
  await login(cfg.write_token);
  await waitFor(page, () => window.sqlrepConsole.role === "write", null, "the write token's role");
  const execShown = await page.evaluate(() => [...document.getElementById("command").options]
    .some((o) => o.value === "exec" && !o.hidden && !o.disabled));
  check(execShown, "a write token gets the exec option");
  await screenshot(page, "write-token");
  pass("a write token gets the write action");

  // An admin token gets the admin actions, each behind a confirmation: dismissed, nothing
  // happens; accepted, the master hands its role over to node 1.
  await page.click("#logout");
  await waitFor(page, () => document.getElementById("login").open, null, "the dialog again");
  await login(cfg.admin_token);
  await waitFor(page, () => window.sqlrepConsole.role === "admin" && window.sqlrepConsole.status &&
                            document.querySelectorAll("#cluster tbody tr button.danger").length === 2,
                null, "the admin's hand-over buttons");
  const handOver = async () => page.evaluate(() => {
    const row = [...document.querySelectorAll("#cluster tbody tr")]
      .find((tr) => window.sqlrepConsole.cluster.nodes.some((n) => n.url === tr.dataset.url && n.node_id === 1));
    row.querySelector("button.danger").click();
  });
  confirmAnswer = false;
  await handOver();
  check(dialogs.length === 1 && dialogs[0].type === "confirm" && /node 1/.test(dialogs[0].message),
        "hand over asks for a confirmation first: " + JSON.stringify(dialogs));
  await new Promise((ok) => setTimeout(ok, 500));
  check(dialogs.length === 1, "a dismissed confirmation does nothing");
  confirmAnswer = true;
  await handOver();
  await waitFor(page, () => {
    const o = window.sqlrepConsole.cluster;
    return o && o.nodes.some((n) => n.node_id === 1 && n.role === "master") &&
           o.nodes.some((n) => n.node_id === 0 && n.role === "replica") && o.verdict === "in_sync";
  }, null, "node 1 shown as master after the hand-over", 40000);
  check(dialogs.some((d) => d.type === "alert" && /^done:/.test(d.message)),
        "the outcome is shown: " + JSON.stringify(dialogs));
  await screenshot(page, "admin-handover");
  pass("an admin token gets the admin actions behind a confirmation: hand over to node 1");
}

// ---- over https ----
async function tlsSteps() {
  const [url] = cfg.urls;
  check(url.startsWith("https://"), "the cluster serves https");
  const page = await openConsole(url);
  await waitFor(page, () => window.sqlrepConsole.role === "admin", null, "the console over https");
  const r = await runSql(page, "SELECT 'over https' AS t");
  check(r.state === "ok", "a query over https: " + r.error);
  await waitFor(page, (count) => window.sqlrepConsole.cluster &&
                                 window.sqlrepConsole.cluster.verdict === "in_sync" &&
                                 window.sqlrepConsole.cluster.nodes.length === count,
                cfg.urls.length, "the cluster panel over https");
  await screenshot(page, "https");
  pass("the console works over https, cluster panel in sync");
}

async function main() {
  const watchdog = setTimeout(() => {
    log("FAIL the whole run took too long");
    if (browser && browser.process()) browser.process().kill("SIGKILL");
    process.exit(1);
  }, 150000);
  fs.mkdirSync(cfg.screenshots, { recursive: true });
  const args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--no-proxy-server", "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"];
  if (cfg.mode === "tls") args.push("--ignore-certificate-errors");
  browser = await puppeteer.launch({ executablePath: cfg.chromium, headless: true, args,
    userDataDir: cfg.profile, timeout: 60000, protocolTimeout: 60000 });
  fs.writeFileSync(cfg.pid_file, String(browser.process().pid));
  let code = 0;
  try {
    if (cfg.mode === "cluster") await clusterSteps();
    else if (cfg.mode === "auth") await authSteps();
    else if (cfg.mode === "tls") await tlsSteps();
    else throw new Error("unknown mode " + cfg.mode);
    check(pageErrors.length === 0, "no page errors: " + pageErrors.join("; "));
    log("ALL PASSED");
  } catch (e) {
    code = 1;
    log("FAIL " + e.message);
    if (pageErrors.length) log("page errors: " + pageErrors.join("; "));
    if (currentPage) await screenshot(currentPage, "failure").catch(() => {});
  } finally {
    clearTimeout(watchdog);
    await browser.close().catch(() => {});
  }
  process.exit(code);
}

main().catch((e) => {
  log("FAIL " + (e && e.stack ? e.stack : e));
  if (browser && browser.process()) browser.process().kill("SIGKILL");
  process.exit(1);
});
