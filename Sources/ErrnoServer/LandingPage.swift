import ErrnoCore

/// The HTML page at `/`: what this agent is, its build, its state, and links to every endpoint.
struct LandingPage {
    let telemetryPath: String
    let ready: Bool

    var html: String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>errno_exporter</title>
        <style>body{font-family:sans-serif;max-width:48em;margin:2em auto}code{background:#eee;padding:0 .2em}</style></head>
        <body>
        <h1>errno_exporter</h1>
        <p>Counts failed syscalls in the kernel with eBPF, by syscall, errno and comm.</p>
        <table>
        <tr><th align="left">version</th><td>\(escape(BuildInfo.version))</td></tr>
        <tr><th align="left">revision</th><td>\(escape(BuildInfo.revision))</td></tr>
        <tr><th align="left">libbpf</th><td>\(escape(BuildInfo.libbpfVersion))</td></tr>
        <tr><th align="left">BPF programs</th><td>\(ready ? "attached" : "not attached yet")</td></tr>
        </table>
        <ul>
        <li><a href="\(escape(telemetryPath))">\(escape(telemetryPath))</a> — metrics</li>
        <li><a href="-/healthy">/-/healthy</a>, <a href="-/ready">/-/ready</a></li>
        </ul>
        </body>
        </html>

        """
    }

    private func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
