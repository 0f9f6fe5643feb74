import Foundation

/// A watch's summary as `GET /api/v1/watches/{id}` answers it (the fields the tools show).
public struct WatchSummaryView: Decodable, Sendable, Equatable {
    public struct SyscallRow: Decodable, Sendable, Equatable {
        public let syscall: String
        public let errno: String
        public let count: UInt64
    }

    public struct PathRow: Decodable, Sendable, Equatable {
        public let path: String
        public let syscall: String
        public let errno: String
        public let count: UInt64
    }

    public struct NotStreamed: Decodable, Sendable, Equatable {
        public let rateLimited: UInt64
        public let ringBufferFull: UInt64

        enum CodingKeys: String, CodingKey {
            case rateLimited = "rate_limited", ringBufferFull = "ring_buffer_full"
        }
    }

    public let id: String
    public let created: String
    /// A pid watch's process exited (the counts are final).
    public let exited: Bool?
    public let failures: UInt64
    public let summaryFull: UInt64
    public let syscalls: [SyscallRow]
    public let paths: [PathRow]

    enum CodingKeys: String, CodingKey {
        case id, created, exited, failures, summaryFull = "summary_full", syscalls, paths
    }
}

/// One line of a watch's NDJSON stream: connected, a failure, a notice of failures left out, the
/// end, or a heartbeat (ignored).
public enum WatchStreamLine: Sendable, Equatable {
    /// The stream is connected (its first line).
    case subscribed
    case failure(time: String, pid: UInt32, tid: UInt32, comm: String, syscall: String, errno: String, path: String?)
    case dropped(count: UInt64, reason: String)
    case end(reason: String)
    case heartbeat

    struct Fields: Decodable {
        var time: String?
        var pid: UInt32?
        var tid: UInt32?
        var comm: String?
        var syscall: String?
        var errno: String?
        var path: String?
        var dropped: UInt64?
        var reason: String?
        var end: String?
        var heartbeat: String?
        var subscribed: String?
    }

    /// The line decoded; nil for a line this tool does not know.
    public init?(json line: String) {
        guard let fields = try? JSONDecoder().decode(Fields.self, from: Data(line.utf8)) else { return nil }
        if let syscall = fields.syscall, let time = fields.time, let pid = fields.pid, let tid = fields.tid, let errno = fields.errno {
            self = .failure(time: time, pid: pid, tid: tid, comm: fields.comm ?? "", syscall: syscall, errno: errno, path: fields.path)
        } else if let count = fields.dropped {
            self = .dropped(count: count, reason: fields.reason ?? "unknown")
        } else if let reason = fields.end {
            self = .end(reason: reason)
        } else if fields.subscribed != nil {
            self = .subscribed
        } else if fields.heartbeat != nil {
            self = .heartbeat
        } else {
            return nil
        }
    }
}
