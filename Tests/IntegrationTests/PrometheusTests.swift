import FixtureSupport
import Foundation
import Glibc
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A server of Debian's (prometheus, prometheus-alertmanager, debuginfod) on a free loopback port,
/// its config and data in a directory of its own; stopped and cleaned up when released.
final class LoopbackServer {
    private(set) var process = Process()
    let directory: String
    private(set) var port = 0
    /// What stops it: SIGTERM, or SIGKILL for a server that leaves SIGTERM to the signal mask it
    /// inherits (the test runner blocks it; debuginfod never unblocks it).
    let stopSignal: Int32

    /// Writes `files` (the config first among them) into a new directory, starts `executable` with
    /// the arguments `arguments(directory, port)` returns, and waits, bounded, for `readyPath` to
    /// answer 2xx (over `scheme`, with `curlOptions` such as credentials) from this very process: a
    /// parallel test's server may take the free port first, and then this one exits and answers
    /// nothing, so it is started again on another port.
    init(
        _ executable: String, files: [String: String], scheme: String = "http", curlOptions: String = "", readyPath: String = "/-/ready",
        stopSignal: Int32 = SIGTERM, arguments: (String, Int) -> [String]
    ) throws {
        self.stopSignal = stopSignal
        directory = NSTemporaryDirectory() + "errno-\(URL(fileURLWithPath: executable).lastPathComponent)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8) }
        let deadline = Date().addingTimeInterval(prometheusPatience)
        while Date() < deadline {
            process = Process()
            port = try freeLoopbackPort()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments(directory, port)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            while Date() < deadline, process.isRunning {
                if (try? shell("curl -sf -o /dev/null \(curlOptions) \(scheme)://127.0.0.1:\(port)\(readyPath)").status) == 0, listens() { return }
                usleep(100_000)
            }
            process.waitUntilExit()
        }
        throw AgentError("\(executable) did not become ready")
    }

    /// Whether this process (not another on the same port) holds the listening socket.
    private func listens() -> Bool {
        let sockets = (try? shell("ss -Hltnp 'sport = :\(port)'").output) ?? ""
        return sockets.contains("pid=\(process.processIdentifier),")
    }

    /// Stops the server (`stopSignal`) and waits for it to exit.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, stopSignal)
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// How long a test waits for Prometheus (to start, to scrape, to answer a query). Generous on
/// purpose: Swift Testing runs every suite on two cooperative threads, which other tests' blocking
/// helpers (process launches, waits) can hold for tens of seconds on a 2-core machine.
let prometheusPatience: TimeInterval = 90

/// A real Prometheus (Debian's) scraping a real agent.
final class PrometheusServer {
    private let server: LoopbackServer
    var port: Int { server.port }

    /// `jobExtras`: YAML lines added to the scrape job (indented 4), e.g. basic_auth.
    convenience init(target: String, interval: String = "1s", arguments: [String] = [], jobExtras: String = "") throws {
        let config = """
            global:
              scrape_interval: \(interval)
              scrape_timeout: \(interval)
            scrape_configs:
              - job_name: errno
                static_configs:
                  - targets: ['\(target)']
            """ + "\n" + jobExtras
        try self.init(config: config, arguments: arguments)
    }

    /// A Prometheus running `config` (prometheus.yml text); `files` (e.g. rule files) are written beside it.
    init(config: String, arguments: [String] = [], files: [String: String] = [:]) throws {
        server = try LoopbackServer("/usr/bin/prometheus", files: files.merging(["prometheus.yml": config]) { $1 }) { directory, port in
            ["--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data", "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn"]
                + arguments
        }
    }

    /// GET /api/v1/<path>, returning `data` of a successful answer.
    func api(_ path: String, _ query: [String: String]) async throws -> Any {
        var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/\(path)")!
        components.queryItems = query.map { URLQueryItem(name: $0.key, value: $0.value) }
        let (data, _) = try await AgentProcess.session.data(from: components.url!)
        let answer = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        try #require(answer["status"] as? String == "success", "prometheus: \(answer)")
        return answer["data"] as Any
    }

    /// Each scrape target's health and last error, for a failing test's message.
    func targets() async -> String {
        guard let data = try? await api("targets", [:]) as? [String: Any], let active = data["activeTargets"] as? [[String: Any]] else { return "targets unavailable" }
        return active.map { "\($0["scrapeUrl"] ?? "?"): \($0["health"] ?? "?") \($0["lastError"] ?? "") after \($0["lastScrapeDuration"] ?? "?") s" }.joined(separator: "; ")
    }

    /// Label sets of the series matching `selector`.
    func series(_ selector: String) async throws -> [[String: String]] {
        (try await api("series", ["match[]": selector]) as? [[String: String]]) ?? []
    }

    /// Instant vector: each result's labels and value.
    func query(_ expression: String) async throws -> [(labels: [String: String], value: Double)] {
        let data = try #require(try await api("query", ["query": expression]) as? [String: Any])
        let results = data["result"] as? [[String: Any]] ?? []
        return results.map { result in
            let value = (result["value"] as? [Any])?.last as? String
            return (result["metric"] as? [String: String] ?? [:], Double(value ?? "") ?? .nan)
        }
    }
}

/// A loopback port nothing listens on right now.
func freeLoopbackPort() throws -> Int {
    let (descriptor, port) = try boundLoopbackSocket()
    close(descriptor)
    return port
}

/// A TCP socket bound to a free loopback port (not listening yet), and the port.
func boundLoopbackSocket() throws -> (descriptor: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else {
        close(fd)
        throw AgentError("no free loopback port")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

@Suite(.timeLimit(.minutes(5)))
struct PrometheusTests {
    @Test func hostileFileNamesArriveAsTheirDocumentedLabels() async throws {
        try requireRoot()
        let comm = uniqueComm("ep_hostile_")
        let agent = try AgentProcess(config: "filters:\n  comms: [\(comm)]\n")
        let prometheus = try PrometheusServer(target: agent.address)
        let base = "/nonexistent/errno-hostile/"
        let long300 = base + String(repeating: "L", count: 300)
        let long4096 = base + String(repeating: "M", count: 4096 - base.utf8.count)
        let cases: [(bytes: [UInt8], label: String, errno: String)] = [
            (Array((base + "new\nline").utf8), base + #"new\x0aline"#, "ENOENT"),
            (Array((base + "quo\"te").utf8), base + "quo\"te", "ENOENT"),
            (Array((base + #"back\slash"#).utf8), base + #"back\\slash"#, "ENOENT"),
            (Array(base.utf8) + [0x62, 0x61, 0x64, 0xFF, 0xFE, 0x2E, 0x63], base + #"bad\xff\xfe.c"#, "ENOENT"),
            (Array((base + "ünï€😀").utf8), base + "ünï€😀", "ENOENT"),
            (Array((base + "tab\there").utf8), base + #"tab\x09here"#, "ENOENT"),
            (Array("<other>".utf8), #"\x3cother>"#, "ENOENT"),
            ([], "<empty>", "ENOENT"),
            // /nonexistent is missing: the lookup stops there (ENOENT) before judging the long component;
            // past PATH_MAX the kernel refuses the whole path up front (ENAMETOOLONG).
            (Array(long300.utf8), String(long300.prefix(255)) + #"\<truncated>"#, "ENOENT"),
            (Array(long4096.utf8), String(long4096.prefix(255)) + #"\<truncated>"#, "ENAMETOOLONG"),
        ]
        try runLoad(comm: comm, paths: cases.enumerated().map { index, item in PathPlan("openat", index + 1, item.bytes) })

        let selector = #"errno_path_failures_total{comm="\#(comm)"}"#
        let results = try await poll(patience: prometheusPatience) { try await prometheus.query(selector) } until: { $0.count >= cases.count }
        let byPath = Dictionary(results.map { ($0.labels["path"] ?? "", $0) }, uniquingKeysWith: { first, _ in first })
        let targets = await prometheus.targets()
        #expect(results.count == cases.count, "series: \(results.map { $0.labels["path"] ?? "" }); targets: \(targets)")
        for (index, item) in cases.enumerated() {
            let series = byPath[item.label]
            #expect(series?.value == Double(index + 1), "path label \(item.label)")
            #expect(series?.labels["errno"] == item.errno, "errno of \(item.label)")
            #expect(series?.labels["syscall"] == "openat")
        }
        // Several scrapes happened, and every one of them succeeded.
        let scrapes = try await poll(patience: prometheusPatience) {
            try await prometheus.query(#"count_over_time(up{job="errno"}[5m])"#).first?.value ?? 0
        } until: { $0 >= 3 }
        #expect(scrapes >= 3)
        let up = try await prometheus.query(#"min_over_time(up{job="errno"}[5m])"#)
        #expect(up.first?.value == 1)
        let samples = try await prometheus.query(#"max_over_time(scrape_samples_post_metric_relabeling{job="errno"}[5m])"#)
        #expect((samples.first?.value ?? 0) > Double(cases.count))
        #expect(try agent.stop() == 0)
    }
}
