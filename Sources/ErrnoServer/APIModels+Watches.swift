import ErrnoKernel
import Foundation
import KernelNames
import SystemSupport
import Watches

extension APIModels {
    /// A watch: `{id, target: {pid|comm|cgroup}, paths_only, events_per_second, created, expires,
    /// created_by, exited}`; with its reading, also `{failures, streamed, not_streamed: {rate_limited,
    /// ring_buffer_full}, summary_full, syscalls: [{syscall, errno, count}], paths: [{path, syscall,
    /// errno, count}]}` (rows by count, largest first).
    struct WatchJSON: Encodable {
        let watch: Watch
        var reading: WatchReading? = nil

        enum CodingKeys: String, CodingKey {
            case id, target, pathsOnly = "paths_only", eventsPerSecond = "events_per_second", created, expires, createdBy = "created_by", exited
            case failures, streamed, notStreamed = "not_streamed", summaryFull = "summary_full", syscalls, paths
        }

        enum TargetKeys: String, CodingKey {
            case pid, comm, cgroup
        }

        struct SyscallRow: Encodable {
            let syscall: String
            let errno: String
            let count: UInt64
        }

        struct PathRow: Encodable {
            let path: String
            let syscall: String
            let errno: String
            let count: UInt64
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(watch.id, forKey: .id)
            var target = container.nestedContainer(keyedBy: TargetKeys.self, forKey: .target)
            switch watch.target {
            case .pid(let pid): try target.encode(pid, forKey: .pid)
            case .comm(let comm): try target.encode(comm, forKey: .comm)
            case .cgroup(let path): try target.encode(path, forKey: .cgroup)
            }
            try container.encode(watch.pathsOnly, forKey: .pathsOnly)
            try container.encode(watch.eventsPerSecond, forKey: .eventsPerSecond)
            try container.encode(RFC3339.format(watch.created), forKey: .created)
            try container.encode(RFC3339.format(watch.expires), forKey: .expires)
            try container.encode(watch.createdBy, forKey: .createdBy)
            try container.encode(watch.exited, forKey: .exited)
            guard let reading else { return }
            let names = SyscallNames()
            try container.encode(reading.failures, forKey: .failures)
            try container.encode(reading.events, forKey: .streamed)
            try container.encode(["rate_limited": reading.rateLimited, "ring_buffer_full": reading.ringBufferFull], forKey: .notStreamed)
            try container.encode(reading.summaryFull, forKey: .summaryFull)
            let syscalls = reading.syscalls.map { SyscallRow(syscall: names.name($0.syscallNumber), errno: ErrnoNames.name($0.errno), count: $0.count) }
            try container.encode(syscalls.sorted { ($1.count, $0.syscall, $0.errno) < ($0.count, $1.syscall, $1.errno) }, forKey: .syscalls)
            let paths = reading.paths.map {
                PathRow(path: PathLabel.value($0.path), syscall: names.name($0.syscallNumber), errno: ErrnoNames.name($0.errno), count: $0.count)
            }
            try container.encode(paths.sorted { ($1.count, $0.path, $0.syscall, $0.errno) < ($0.count, $1.path, $1.syscall, $1.errno) }, forKey: .paths)
        }
    }

    /// One item of a watch's stream as JSON: `{watch, subscribed}` first, then failures `{time, pid,
    /// tid, comm, syscall, errno, path?}`, `{dropped, reason}`, `{heartbeat}`, and `{end}` last.
    struct WatchItemJSON: Encodable {
        let item: WatchStreamItem

        enum CodingKeys: String, CodingKey {
            case time, pid, tid, comm, syscall, errno, path, dropped, reason, end, heartbeat, watch, subscribed
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch item {
            case .subscribed(let watch, let time):
                try container.encode(watch, forKey: .watch)
                try container.encode(RFC3339.format(time), forKey: .subscribed)
            case .failure(let event):
                try container.encode(RFC3339.format(event.time), forKey: .time)
                try container.encode(event.pid, forKey: .pid)
                try container.encode(event.tid, forKey: .tid)
                try container.encode(event.comm, forKey: .comm)
                try container.encode(event.syscall, forKey: .syscall)
                try container.encode(event.errno, forKey: .errno)
                try container.encodeIfPresent(event.path, forKey: .path)
            case .dropped(let count, let reason):
                try container.encode(count, forKey: .dropped)
                try container.encode(reason.rawValue, forKey: .reason)
            case .end(let reason):
                try container.encode(reason.rawValue, forKey: .end)
            case .heartbeat(let time):
                try container.encode(RFC3339.format(time), forKey: .heartbeat)
            }
        }

        /// The SSE event name of the item.
        var eventName: String {
            switch item {
            case .subscribed: "subscribed"
            case .failure: "failure"
            case .dropped: "dropped"
            case .end: "end"
            case .heartbeat: "heartbeat"
            }
        }
    }
}
