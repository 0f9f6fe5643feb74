/// `static/investigate.js`: the landing page's live parts, served by the agent itself (the page's
/// policy allows no other script and no inline one). It refreshes "what fails now" in place, runs a
/// watch on the picked process and shows its failures as they stream (Server-Sent Events), creates
/// an ad-hoc trigger for a failing path on request and shows its captures as they arrive, culprit
/// first. Every string from the agent is put into the page as text (`textContent`), never as markup.
enum InvestigationScript {
    static let source = #"""
        "use strict";
        (function () {
          const url = (path) => new URL(path, document.baseURI).toString();
          const byId = (id) => document.getElementById(id);
          function cell(row, text) {
            const td = document.createElement("td");
            td.textContent = text;
            row.appendChild(td);
            return td;
          }
          function commLink(comm) {
            const a = document.createElement("a");
            a.href = "?comm=" + encodeURIComponent(comm) + "#live";
            a.textContent = comm;
            return a;
          }

          // What fails now: the tables refreshed every 5 seconds.
          const recent = byId("recent");
          function fill(table, rows, withPath) {
            const body = document.createElement("tbody");
            for (const row of rows) {
              const tr = document.createElement("tr");
              if (withPath) cell(tr, "").appendChild(document.createElement("code")).textContent = row.path;
              cell(tr, row.syscall);
              cell(tr, row.errno);
              cell(tr, "").appendChild(commLink(row.comm));
              cell(tr, row.per_second.toFixed(2)).className = "number";
              cell(tr, String(row.count)).className = "number";
              body.appendChild(tr);
            }
            if (!rows.length) {
              const tr = document.createElement("tr");
              tr.className = "empty";
              cell(tr, "nothing failed").colSpan = 6;
              body.appendChild(tr);
            }
            byId(table).tBodies[0].replaceWith(body);
          }
          async function refreshRecent() {
            const comm = recent.dataset.comm;
            const response = await fetch(url("api/v1/failures/recent?limit=10" + (comm ? "&comm=" + encodeURIComponent(comm) : "")), { cache: "no-store" });
            if (!response.ok) return;
            const data = (await response.json()).data;
            fill("recent-syscalls", data.syscalls, false);
            fill("recent-paths", data.paths, true);
            byId("recent-window").textContent = data.window_seconds > 0
              ? "per second over the last " + Math.round(data.window_seconds) + " s (refreshed every 5 s)"
              : "collecting: rates appear at the next refresh";
          }
          if (recent) {
            setInterval(() => refreshRecent().catch(() => {}), 5000);
          }

          // Live: a watch on the picked process, its failures as they happen.
          const form = byId("live-form");
          if (!form) return;
          const status = (text) => { byId("live-status").textContent = text; };
          let watch = null, source = null, target = null;
          const capturing = new Map();
          const shownCaptures = new Set();

          async function answer(response) {
            try { return await response.json(); } catch (error) { return { error: "HTTP " + response.status }; }
          }
          async function stop() {
            if (source) source.close();
            source = null;
            if (watch) await fetch(url("api/v1/watches/" + encodeURIComponent(watch.id)), { method: "DELETE" }).catch(() => {});
            watch = null;
            byId("live-stop").hidden = true;
          }
          async function start() {
            await stop();
            const pid = form.elements.pid.value.trim(), comm = form.elements.comm.value.trim();
            const body = { duration: "10m", paths_only: form.elements.paths.checked };
            if (/^[0-9]+$/.test(pid)) { body.pid = Number(pid); target = { pid: Number(pid) }; }
            else if (comm) { body.comm = comm; target = { comm: comm }; }
            else { status("Give a pid (digits) or a comm."); return; }
            const response = await fetch(url("api/v1/watches"), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
            const created = await answer(response);
            if (!response.ok) { status("The agent refused the watch: " + created.error); return; }
            watch = created.data;
            const what = target.pid !== undefined ? "pid " + target.pid : "comm " + target.comm;
            status("Watch " + watch.id + " on " + what + ": connecting…");
            byId("live-stop").hidden = false;
            source = new EventSource(url("api/v1/watches/" + encodeURIComponent(watch.id) + "/events"));
            source.addEventListener("subscribed", () => status("Watching " + what + " (watch " + watch.id + ", until " + watch.expires + "): failures appear below as they happen."));
            source.addEventListener("failure", (event) => addFailure(JSON.parse(event.data)));
            source.addEventListener("dropped", (event) => {
              const dropped = JSON.parse(event.data);
              status(dropped.dropped + " failures not shown (" + dropped.reason + "); the watch's summary counts them.");
            });
            source.addEventListener("end", (event) => {
              status("The watch ended (" + JSON.parse(event.data).end + ").");
              source.close();
              source = null;
              watch = null;
              byId("live-stop").hidden = true;
            });
          }
          function addFailure(failure) {
            const body = byId("live-events").tBodies[0];
            const tr = document.createElement("tr");
            tr.className = "failure";
            cell(tr, failure.time.slice(11, 26));
            cell(tr, String(failure.pid));
            cell(tr, failure.comm);
            cell(tr, failure.syscall);
            cell(tr, failure.errno);
            cell(tr, failure.path === undefined ? "" : failure.path);
            const action = cell(tr, "");
            if (failure.path !== undefined) {
              const button = document.createElement("button");
              button.type = "button";
              button.className = "capture-stacks";
              const trigger = capturing.get(failure.path);
              button.textContent = trigger ? "capturing (" + trigger + ")" : "capture stacks";
              button.disabled = Boolean(trigger);
              if (failure.path.startsWith("<") || failure.path.includes("\\")) {
                // A marker (<null>, <unreadable>) or escaped bytes: not the path the process passed.
                button.disabled = true;
                button.title = "this path's bytes are escaped or it was not read: create the trigger with the API";
              }
              button.addEventListener("click", () => capture(failure, button));
              action.appendChild(button);
            }
            body.prepend(tr);
            while (body.rows.length > 200) body.deleteRow(-1);
          }
          async function capture(failure, button) {
            button.disabled = true;
            const body = { path: [failure.path], duration: "10m", max_per_minute: 60 };
            if (target && target.pid !== undefined) body.pid = failure.pid; else body.comm = failure.comm;
            const response = await fetch(url("api/v1/triggers"), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
            const created = await answer(response);
            if (!response.ok) { button.disabled = false; status("The agent refused the trigger: " + created.error); return; }
            const name = created.data.name;
            capturing.set(failure.path, name);
            for (const other of document.querySelectorAll("button.capture-stacks")) {
              if (other.closest("tr").cells[5].textContent === failure.path) { other.disabled = true; other.textContent = "capturing (" + name + ")"; }
            }
            status("Capturing the stacks of " + failure.path + " as trigger " + name + " until " + created.data.expires + ": its captures appear below.");
            pollCaptures(name, Date.parse(created.data.expires));
          }
          async function pollCaptures(trigger, until) {
            while (Date.now() < until) {
              const response = await fetch(url("api/v1/captures?limit=20&trigger=" + encodeURIComponent(trigger)), { cache: "no-store" }).catch(() => null);
              if (response && response.ok) {
                for (const capture of (await response.json()).data.reverse()) {
                  if (!shownCaptures.has(capture.id)) { shownCaptures.add(capture.id); showCapture(capture); }
                }
              }
              await new Promise((resolve) => setTimeout(resolve, 2000));
            }
          }
          function frameText(frame) {
            return (frame.symbol || frame.address) + (frame.file ? " " + frame.file + (frame.line ? ":" + frame.line : "") : "");
          }
          function showCapture(capture) {
            const div = document.createElement("div");
            div.className = "capture live-capture";
            const heading = document.createElement("h3");
            const link = document.createElement("a");
            link.href = url("api/v1/captures/" + encodeURIComponent(capture.id));
            link.textContent = "#" + capture.id;
            heading.append(link, " " + capture.trigger + ": " + capture.comm + " (pid " + capture.pid + ") " + capture.syscall + " " + capture.path + " " + (capture.errno || capture.result));
            const culprit = document.createElement("p");
            culprit.className = "culprit";
            culprit.append("Culprit: ");
            culprit.appendChild(document.createElement("code")).textContent = capture.culprit ? frameText(capture.culprit) : "none (only system code ran)";
            const links = document.createElement("p");
            const graph = document.createElement("a");
            graph.href = url("api/v1/captures/" + encodeURIComponent(capture.id) + "?format=svg");
            graph.textContent = "flame graph";
            links.append(capture.time + " · ", graph, " · " + capture.user_stack.length + " frames");
            div.append(heading, culprit, links);
            byId("live-captures").prepend(div);
          }

          form.addEventListener("submit", (event) => { event.preventDefault(); start().catch((error) => status("Failed: " + error)); });
          byId("live-stop").addEventListener("click", () => { stop().then(() => status("Stopped.")); });
          window.addEventListener("pagehide", () => {
            if (watch) fetch(url("api/v1/watches/" + encodeURIComponent(watch.id)), { method: "DELETE", keepalive: true });
          });
        })();
        """#
}
