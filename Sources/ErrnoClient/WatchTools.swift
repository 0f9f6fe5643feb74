import Foundation
import NIOHTTP1

/// `errno_exporter top` and `snoop` over a `WatchSession`: the one refreshes syscount's table every
/// interval, the other prints opensnoop's line per failure as the agent streams it.
public enum WatchTools {
    /// `top`: a screen every `interval` (cleared first on a terminal; on a pipe, screens follow each
    /// other with a blank line), `iterations` screens at most (nil: until stopped or the watch ends).
    public static func top(
        _ session: WatchSession, interval: Duration, iterations: Int?, terminal: Bool, print: @escaping @Sendable (String) -> Void,
        status: @escaping @Sendable (String) -> Void
    ) async throws {
        let connection = session.connection, target = session.request.target
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        try await session.run(status: status) { id, announce in
            announce()  // the summary counts from the watch's start
            var previous: WatchSummaryView?
            var shown = 0
            while iterations.map({ shown < $0 }) ?? true {
                try await Task.sleep(for: interval)
                let (code, bytes) = try await connection.send(.GET, "/api/v1/watches/\(id)")
                if code == 404 { return }
                guard code == 200, let summary = try? JSONDecoder().decode(AgentConnection.Envelope<WatchSummaryView>.self, from: bytes).data else {
                    throw AgentRequestError(description: "GET /api/v1/watches/\(id): HTTP \(code): \(String(decoding: bytes.prefix(300), as: UTF8.self))")
                }
                let table = TopTable(summary: summary, previous: previous, target: target, intervalSeconds: seconds)
                let lines = table.lines(time: clock(Date()))
                print((terminal ? "\u{1B}[H\u{1B}[J" : (shown > 0 ? "\n" : "")) + lines.joined(separator: "\n"))
                previous = summary
                shown += 1
            }
        }
    }

    /// `snoop`: opensnoop's columns, one line per failure; failures the agent left out and the
    /// watch's end go to `status`. Stops after `limit` failures when given.
    public static func snoop(
        _ session: WatchSession, limit: Int?, print: @escaping @Sendable (String) -> Void, status: @escaping @Sendable (String) -> Void
    ) async throws {
        let connection = session.connection
        try await session.run(status: status) { id, announce in
            print(snoopHeader)
            var printed = 0
            do {
                try await connection.streamLines("/api/v1/watches/\(id)/events") { text in
                    switch WatchStreamLine(json: text) {
                    case .subscribed:
                        announce()  // every failure from now on is streamed
                    case .failure(let time, let pid, let tid, let comm, let syscall, let errno, let path):
                        print(snoopLine(time: time, pid: pid, tid: tid, comm: comm, syscall: syscall, errno: errno, path: path))
                        printed += 1
                        if let limit, printed >= limit { throw Enough() }
                    case .dropped(let count, let reason):
                        status("# \(count) failures not shown (\(reason)); the watch's summary counts them")
                    case .end(let reason):
                        status("watch \(id) ended: \(reason)")
                    case .heartbeat, .none:
                        break
                    }
                }
            } catch is Enough {}
        }
    }

    struct Enough: Error {}

    static let snoopWidths = [-15, 8, 8, -16, -16, -14]
    public static let snoopHeader = TopTable.row(["TIME", "PID", "TID", "COMM", "SYSCALL", "ERRNO", "PATH"], widths: snoopWidths + [0])

    /// One failure in opensnoop's spirit: `16:45:23.294316  12716  12716 node  openat  ENOENT  /etc/nodey.conf`.
    public static func snoopLine(time: String, pid: UInt32, tid: UInt32, comm: String, syscall: String, errno: String, path: String?) -> String {
        TopTable.row([clockPart(time), String(pid), String(tid), comm, syscall, errno, path ?? "-"], widths: snoopWidths + [0])
    }

    /// `14:02:03.123456` from an RFC 3339 time (UTC, as the agent writes it).
    static func clockPart(_ time: String) -> String {
        guard let t = time.firstIndex(of: "T") else { return time }
        return String(time[time.index(after: t)...].prefix { $0 != "Z" })
    }

    /// Now as `14:02:03` (UTC).
    static func clock(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%02d:%02d:%02d", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}
