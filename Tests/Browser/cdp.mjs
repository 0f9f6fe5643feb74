// A headless Chromium driven through the Chrome DevTools Protocol, for the browser tests: reads one
// JSON command per line on stdin, answers one JSON line on stdout ({"ok": true, "value": …} or
// {"ok": false, "error": "…"}). Node 20: run with --experimental-websocket.
//
//   node --experimental-websocket cdp.mjs PROFILE_DIR    (Chromium's --user-data-dir, which holds
//                                                         DevToolsActivePort once it listens)
//   {"cmd": "navigate", "url": "http://…"}               load a page and wait for its load event
//   {"cmd": "eval", "expression": "…"}                   evaluate (awaiting promises); its value
//   {"cmd": "viewport", "width": 390, "height": 844}     emulate a screen size
//   {"cmd": "screenshot", "path": "/tmp/x.png"}          a PNG of the viewport
//   {"cmd": "requests"}                                  every URL the page requested so far
import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";

const profile = process.argv[2];
async function devToolsPort() {
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      return readFileSync(profile + "/DevToolsActivePort", "utf8").split("\n")[0].trim();
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error("Chromium did not write DevToolsActivePort");
}

const port = await devToolsPort();
const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const page = targets.find((target) => target.type === "page");
const socket = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });

let nextId = 1;
const pending = new Map();
const listeners = [];
const requested = [];
socket.onmessage = (message) => {
  const data = JSON.parse(message.data);
  if (data.id && pending.has(data.id)) {
    const { resolve, reject } = pending.get(data.id);
    pending.delete(data.id);
    if (data.error) reject(new Error(data.error.message)); else resolve(data.result);
  } else if (data.method) {
    if (data.method === "Network.requestWillBeSent") requested.push(data.params.request.url);
    for (const listener of listeners.splice(0)) {
      if (listener.method === data.method) listener.resolve(data.params); else listeners.push(listener);
    }
  }
};
function send(method, params = {}) {
  const id = nextId++;
  socket.send(JSON.stringify({ id, method, params }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
function next(method) {
  return new Promise((resolve) => listeners.push({ method, resolve }));
}
await send("Page.enable");
await send("Runtime.enable");
await send("Network.enable");

async function run(command) {
  switch (command.cmd) {
    case "navigate": {
      const loaded = next("Page.loadEventFired");
      await send("Page.navigate", { url: command.url });
      await loaded;
      return null;
    }
    case "eval": {
      const result = await send("Runtime.evaluate", { expression: command.expression, awaitPromise: true, returnByValue: true });
      if (result.exceptionDetails) throw new Error(result.exceptionDetails.exception?.description ?? result.exceptionDetails.text);
      return result.result.value ?? null;
    }
    case "viewport":
      await send("Emulation.setDeviceMetricsOverride", { width: command.width, height: command.height, deviceScaleFactor: 1, mobile: command.width < 600 });
      return null;
    case "screenshot": {
      const shot = await send("Page.captureScreenshot", { format: "png" });
      writeFileSync(command.path, Buffer.from(shot.data, "base64"));
      return command.path;
    }
    case "requests":
      return requested;
    default:
      throw new Error("unknown command " + command.cmd);
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    process.stdout.write(JSON.stringify({ ok: true, value: await run(JSON.parse(line)) }) + "\n");
  } catch (error) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(error.message ?? error) }) + "\n");
  }
}
socket.close();
process.exit(0);
