import Captures
import ErrnoConfig
import ErrnoKernel
import ErrnoMetrics
import Foundation
import Stacks
import SystemSupport

/// The HTML page at `/`, the investigation page: what fails now (rates, refreshed in place), a live
/// view of a process's failures with one-click stack captures (with `--web.enable-investigations`),
/// flame graphs, recent captures opening with their culprit, the triggers, the build, the kernel's
/// features and links to every endpoint. Reads without JavaScript; the live parts are a script of
/// the agent's own (`static/investigate.js`), and every user-controlled string is escaped.
struct LandingPage {
    static let recentCaptures = 10
    /// Captures per trigger drawn in its flame graph at most, and flame graphs drawn on the page (the
    /// triggers with the newest captures; the others are linked).
    static let flameGraphCaptures = 1000
    static let flameGraphs = 4

    let telemetryPath: String
    let ready: Bool
    var triggers: [TriggerStatus] = []
    var captures: [Capture] = []
    /// Each trigger with captures, and its captures (newest first), for its flame graph.
    var capturesByTrigger: [(trigger: String, captures: [Capture])] = []
    /// What the running kernel offers; nil when the server has no kernel behind it.
    var features: KernelFeatures?
    /// What fails now (nil: no kernel counters behind the server), for one comm when `comm` is set.
    var recent: RecentFailures.Report?
    var comm: String?
    /// The live view's form prefilled with this pid.
    var pid: String?
    /// Whether watches and ad-hoc triggers are enabled (`--web.enable-investigations`).
    var investigations = false

    var html: String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>errno_exporter</title>
        <style>body{font-family:sans-serif;max-width:64em;margin:1em auto;padding:0 .8em}code,pre{background:#eee;padding:0 .2em;overflow-wrap:anywhere}
        table{border-collapse:collapse}td,th{padding:.1em .6em;text-align:left;vertical-align:top}th{white-space:nowrap}
        .scroll{overflow-x:auto}td.number{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.note{color:#555}
        #recent-paths td:first-child,#live-events td:nth-child(6){min-width:14em}#live-form label{margin-right:.8em;white-space:nowrap}#live-events td{font-family:monospace;font-size:90%}
        ol.stack{font-family:monospace;font-size:90%}.method{color:#777}.capture{border-top:1px solid #ccc;margin-top:1em}
        li.folded{list-style:none}li.folded summary{color:#777;cursor:pointer}
        svg.flamegraph{width:100%;height:auto}svg.flamegraph a:hover rect{stroke:#000}</style></head>
        <body>
        <h1>errno_exporter</h1>
        <p>Counts failed syscalls in the kernel with eBPF, by syscall, errno and comm; captures the stacks of the calls its triggers name.</p>
        \(recentSection)
        \(liveSection)
        \(flameGraphSection)
        \(captureSection)
        <h2>This agent</h2>
        <table>
        <tr><th>version</th><td>\(escape(BuildInfo.version))</td></tr>
        <tr><th>revision</th><td>\(escape(BuildInfo.revision))</td></tr>
        <tr><th>libbpf</th><td>\(escape(BuildInfo.libbpfVersion))</td></tr>
        <tr><th>BPF programs</th><td>\(ready ? "attached" : "not attached yet")</td></tr>
        </table>
        <ul>
        <li><a href="\(escape(telemetryPath))">\(escape(telemetryPath))</a> — metrics</li>
        <li><a href="api/v1/triggers">/api/v1/triggers</a>, <a href="api/v1/captures">/api/v1/captures</a> — triggers and captures (JSON)</li>
        <li><a href="api/v1/failures/recent">/api/v1/failures/recent</a> — what fails now (JSON)</li>
        <li><a href="-/healthy">/-/healthy</a>, <a href="-/ready">/-/ready</a></li>
        </ul>
        \(kernelSection)
        \(triggerSection)
        <script src="static/investigate.js"></script>
        </body>
        </html>

        """
    }

    /// Each kernel feature the agent uses: present, or what its absence costs and which kernel brings it.
    private var kernelSection: String {
        guard let features else { return "" }
        let rows = KernelFeatures.Feature.allCases.map { feature in
            features.has(feature)
                ? "<tr><td>\(feature.rawValue)</td><td>yes</td><td></td></tr>"
                : "<tr><td>\(feature.rawValue)</td><td>no (\(escape(feature.since)))</td><td>\(escape(feature.withoutIt))</td></tr>"
        }
        return "<h2>Kernel</h2><table><tr><th>feature</th><th>here</th><th>without it</th></tr>" + rows.joined(separator: "\n") + "</table>"
    }

    private var triggerSection: String {
        guard !triggers.isEmpty else { return "<h2>Triggers</h2><p>No triggers configured.</p>" }
        let rows = triggers.map { trigger in
            let config = trigger.config
            let paths = (config.paths + config.prefixes.map { $0 + "*" }).prefix(5).map { "<code>\(escape($0))</code>" }.joined(separator: " ")
            let more = config.paths.count + config.prefixes.count > 5 ? " …" : ""
            return "<tr><td><a href=\"api/v1/captures?trigger=\(escape(trigger.name))\">\(escape(trigger.name))</a></td><td>\(paths)\(more)</td>"
                + "<td>\(escape(config.comm ?? "any"))</td><td>\(config.result.rawValue)</td><td>\(escape(Self.state(trigger)))</td>"
                + "<td>\(trigger.counts.matches)</td><td>\(trigger.counts.captures)</td><td>\(trigger.counts.rateLimited)</td></tr>"
        }
        return "<h2>Triggers</h2><table><tr><th>name</th><th>paths</th><th>comm</th><th>result</th><th>state</th><th>matches</th><th>captures</th><th>rate-limited</th></tr>"
            + rows.joined(separator: "\n") + "</table>"
    }

    /// "armed (always)", "armed until … by Alert", "disarmed (on_alert)".
    static func state(_ trigger: TriggerStatus) -> String {
        if trigger.config.armed == .always { return "armed (always)" }
        guard trigger.armed, let until = trigger.armedUntil else { return "disarmed (on_alert)" + (trigger.armedUntil.map { "; last armed until \($0)" } ?? "") }
        return "armed until \(until) by \(trigger.armedBy ?? "an alert") via \(trigger.arming.map { "\($0.source)" } ?? "webhook")"
    }

    private var captureSection: String {
        guard !captures.isEmpty else { return "<h2>Recent captures</h2><p>No captures yet.</p>" }
        let items = captures.map { capture in
            let outcome = capture.errno.map { "failed with \($0)" } ?? "returned \(capture.result)"
            let frames = stackItems(capture.userStack)
            return """
                <div class="capture" id="capture-\(capture.id)"><h3><a href="api/v1/captures/\(capture.id)">#\(capture.id)</a> \(escape(capture.trigger)):
                <code>\(escape(capture.comm))</code> (pid \(capture.pid)) \(escape(capture.syscall)) <code>\(escape(capture.path))</code> \(escape(outcome))</h3>
                \(culprit(capture))<p>\(RFC3339.format(capture.time)) · <a href="api/v1/captures/\(capture.id)?format=folded">folded</a></p>
                <ol class="stack">\(frames)</ol></div>
                """
        }
        return "<h2>Recent captures</h2>" + items.joined(separator: "\n")
    }

    /// Per trigger: the icicle graph of its captures (each frame a link that zooms), a search form
    /// and the standalone SVG — no script, so it reads the same with JavaScript off.
    private var flameGraphSection: String {
        guard !capturesByTrigger.isEmpty else { return "" }
        let newestFirst = capturesByTrigger.sorted { ($0.captures.first?.id ?? 0) > ($1.captures.first?.id ?? 0) }
        let linked = newestFirst.dropFirst(Self.flameGraphs).map { trigger, _ in
            "<li><a href=\"\(escape("api/v1/captures?" + FlameGraphLinks.query(["trigger": trigger, "format": "svg"])))\">\(escape(trigger))</a></li>"
        }
        let graphs = newestFirst.prefix(Self.flameGraphs).map { trigger, captures in
            let base = "api/v1/captures?" + FlameGraphLinks.query(["trigger": trigger, "format": "svg"])
            let svg = FlameGraph(stacks: captures.map { $0.foldedFrames() }).svg(
                title: "trigger \(trigger): \(captures.count) captures", standalone: false
            ) { path in
                "api/v1/captures?" + FlameGraphLinks.query(["trigger": trigger, "format": "svg", "focus": path.map(String.init).joined(separator: ".")])
            }
            return """
                <div class="flamegraph" id="flamegraph-\(escape(trigger))"><h3>\(escape(trigger))</h3>
                <form method="get" action="api/v1/captures"><input type="hidden" name="trigger" value="\(escape(trigger))">\
                <input type="hidden" name="format" value="svg"><input name="search" placeholder="function, file or module"> <button>search</button> · \
                <a href="\(escape(base))">open</a> · <a href="\(escape(base))&amp;download=true" download>download .svg</a></form>
                \(svg)</div>
                """
        }
        return "<h2>Flame graphs</h2><p>The stacks of each trigger's captures, outermost on top; click a frame to zoom in.</p>" + graphs.joined(separator: "\n")
            + (linked.isEmpty ? "" : "<p>More triggers:</p><ul>\(linked.joined())</ul>")
    }

    /// A stack's frames as list items, the application's own shown and the runtime's and system's
    /// folded away in runs (`<details>`: expandable without JavaScript); each frame with its
    /// module and how it was found.
    private func stackItems(_ frames: [StackFrame]) -> String {
        let javaScript = Capture.isJavaScript(frames)
        func item(_ frame: StackFrame) -> String {
            "<li>\(escape(frame.displayName)) <span class=\"method\">\(escape(frame.module ?? "")) · \(frame.method.rawValue)\(frame.inlined ? " · inlined" : "")</span></li>"
        }
        var html = "", folded: [StackFrame] = []
        func flush() {
            guard !folded.isEmpty else { return }
            html += folded.count == 1
                ? item(folded[0])
                : "<li class=\"folded\"><details><summary>\(folded.count) runtime and system frames</summary><ol>\(folded.map(item).joined())</ol></details></li>"
            folded.removeAll()
        }
        for frame in frames {
            if Capture.isApplicationFrame(frame, javaScript: javaScript) {
                flush()
                html += item(frame)
            } else {
                folded.append(frame)
            }
        }
        flush()
        return html
    }

    /// The capture's culprit (the application's innermost frame, else the submitting stack's), first.
    private func culprit(_ capture: Capture) -> String {
        guard let frame = capture.culprit ?? capture.submittedBy.flatMap({ Capture.culprit(in: $0.userStack) }) else { return "" }
        return "<p class=\"culprit\">Culprit: <code>\(escape(frame.displayName))</code></p>"
    }

    /// HTML-escapes `text` scalar by scalar: a `Character` (grapheme cluster) may merge a `<` into
    /// the mark before it and slip past a per-Character comparison.
    static func escape(_ text: String) -> String { MarkupText.escape(text) }

    func escape(_ text: String) -> String { Self.escape(text) }
}
