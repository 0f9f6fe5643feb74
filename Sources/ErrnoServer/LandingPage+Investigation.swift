import ErrnoMetrics
import Foundation

extension LandingPage {
    /// Rows of each "what fails now" table.
    static let recentRows = 10

    /// The top failing (syscall, errno, comm) and paths as rates; each comm links to its own view
    /// (`?comm=`). The script refreshes the tables every 5 seconds.
    var recentSection: String {
        guard let recent else { return "" }
        let scope = comm.map { " for comm <code>\(escape($0))</code> · <a href=\"./\">all</a>" } ?? ""
        let window = recent.windowSeconds > 0
            ? "per second over the last \(Int(recent.windowSeconds.rounded())) s"
            : "collecting: rates appear at the next refresh"
        func commLink(_ comm: String) -> String { "<a href=\"?\(escape(FlameGraphLinks.query(["comm": comm])))#live\">\(escape(comm))</a>" }
        func rate(_ row: RecentFailures.Row) -> String {
            "<td class=\"number\">\(String(format: "%.2f", row.perSecond))</td><td class=\"number\">\(row.count)</td>"
        }
        let syscalls = recent.syscalls.map { row in
            "<tr><td>\(escape(row.syscall))</td><td>\(escape(row.errno))</td><td>\(commLink(row.comm))</td>\(rate(row))</tr>"
        }
        let paths = recent.paths.map { row in
            "<tr><td><code>\(escape(row.path ?? ""))</code></td><td>\(escape(row.syscall))</td><td>\(escape(row.errno))</td><td>\(commLink(row.comm))</td>\(rate(row))</tr>"
        }
        let empty = "<tr class=\"empty\"><td colspan=\"6\">nothing failed</td></tr>"
        return """
            <section id="recent" data-comm="\(escape(comm ?? ""))"><h2>What fails now\(scope)</h2>
            <p class="note" id="recent-window">\(window)</p>
            <div class="scroll"><table id="recent-syscalls"><thead><tr><th>syscall</th><th>errno</th><th>comm</th><th>/s</th><th>count</th></tr></thead>
            <tbody>\(syscalls.isEmpty ? empty : syscalls.joined())</tbody></table></div>
            <h3>Failing paths</h3>
            <div class="scroll"><table id="recent-paths"><thead><tr><th>path</th><th>syscall</th><th>errno</th><th>comm</th><th>/s</th><th>count</th></tr></thead>
            <tbody>\(paths.isEmpty ? empty : paths.joined())</tbody></table></div></section>
            """
    }

    /// Pick a process (pid or comm): a watch streams its failures into the page, and each failing
    /// path can get its stacks captured (an ad-hoc trigger) — or, without investigations, why not.
    var liveSection: String {
        guard investigations else {
            return """
                <section id="live"><h2>Live</h2><p class="disabled">Live investigations are disabled: start errno_exporter with \
                <code>--web.enable-investigations</code> to watch a process's failures as they happen and capture stacks from this page \
                (or from the command line: <code>errno_exporter top</code>, <code>snoop</code>, <code>trace</code>).</p></section>
                """
        }
        return """
            <section id="live"><h2>Live</h2>
            <form id="live-form" method="get" action="./">
            <label>pid <input name="pid" inputmode="numeric" size="8" value="\(escape(pid ?? ""))"></label>
            <label>or comm <input name="comm" maxlength="15" size="16" value="\(escape(comm ?? ""))"></label>
            <label><input type="checkbox" name="paths" value="1"> path syscalls only</label>
            <button type="submit">Watch</button> <button type="button" id="live-stop" hidden>Stop</button></form>
            <p class="note" id="live-status">Pick a process: its failures stream here as they happen, and a failing path's stacks are one click away (needs JavaScript; <code>errno_exporter snoop</code> does the same in a terminal).</p>
            <div class="scroll"><table id="live-events"><thead><tr><th>time</th><th>pid</th><th>comm</th><th>syscall</th><th>errno</th><th>path</th><th></th></tr></thead>
            <tbody></tbody></table></div>
            <div id="live-captures"></div></section>
            """
    }
}
