import ErrnoMetrics

extension APIModels {
    /// What fails now: `{window_seconds, syscalls: [{syscall, errno, comm, per_second, count}],
    /// paths: [{path, syscall, errno, comm, per_second, count}]}`, fastest first.
    struct RecentJSON: Encodable {
        let report: RecentFailures.Report

        enum CodingKeys: String, CodingKey {
            case windowSeconds = "window_seconds", syscalls, paths
        }

        struct Row: Encodable {
            let row: RecentFailures.Row

            enum CodingKeys: String, CodingKey {
                case path, syscall, errno, comm, perSecond = "per_second", count
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encodeIfPresent(row.path, forKey: .path)
                try container.encode(row.syscall, forKey: .syscall)
                try container.encode(row.errno, forKey: .errno)
                try container.encode(row.comm, forKey: .comm)
                try container.encode(row.perSecond, forKey: .perSecond)
                try container.encode(row.count, forKey: .count)
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(report.windowSeconds, forKey: .windowSeconds)
            try container.encode(report.syscalls.map(Row.init), forKey: .syscalls)
            try container.encode(report.paths.map(Row.init), forKey: .paths)
        }
    }
}
