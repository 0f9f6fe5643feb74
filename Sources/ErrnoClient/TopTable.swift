import Foundation

/// `errno_exporter top`'s screen: syscount -x's table for one watch — failing (syscall, errno)
/// pairs with their total and their count in the last interval, then the failing paths. Pure: the
/// summaries in, lines out.
public struct TopTable: Sendable {
    public let summary: WatchSummaryView
    /// The summary one interval earlier (nil on the first screen: the last-interval column is the total).
    public let previous: WatchSummaryView?
    public let target: String
    public let intervalSeconds: Double
    /// Rows of each table at most.
    public var maxRows = 20

    public init(summary: WatchSummaryView, previous: WatchSummaryView?, target: String, intervalSeconds: Double) {
        self.summary = summary
        self.previous = previous
        self.target = target
        self.intervalSeconds = intervalSeconds
    }

    /// The screen's lines, headed by `time` (`14:02:03`).
    public func lines(time: String) -> [String] {
        let last = "LAST \(Self.seconds(intervalSeconds))"
        var lines = ["\(time)  watch \(summary.id) on \(target): \(summary.failures) failures since \(summary.created)\(summary.exited == true ? " (the process exited)" : "")"]
        lines.append(Self.row(["SYSCALL", "ERRNO", "COUNT", last], widths: [-20, -14, 10, 10]))
        let before = Dictionary(previous?.syscalls.map { ("\($0.syscall) \($0.errno)", $0.count) } ?? []) { first, _ in first }
        for row in summary.syscalls.prefix(maxRows) {
            let recent = row.count &- (before["\(row.syscall) \(row.errno)"] ?? 0)
            lines.append(Self.row([row.syscall, row.errno, String(row.count), String(recent)], widths: [-20, -14, 10, 10]))
        }
        if summary.syscalls.count > maxRows { lines.append("… \(summary.syscalls.count - maxRows) more") }
        if !summary.paths.isEmpty {
            lines.append("")
            lines.append(Self.row(["PATH", "SYSCALL", "ERRNO", "COUNT"], widths: [-48, -16, -14, 10]))
            for row in summary.paths.prefix(maxRows) {
                lines.append(Self.row([row.path, row.syscall, row.errno, String(row.count)], widths: [-48, -16, -14, 10]))
            }
            if summary.paths.count > maxRows { lines.append("… \(summary.paths.count - maxRows) more") }
        }
        if summary.summaryFull > 0 { lines.append("(\(summary.summaryFull) summary entries found the kernel's table full: those failures are in the total only)") }
        return lines
    }

    /// Cells padded to `widths` (negative: left-aligned), one space apart; a long cell is kept whole.
    static func row(_ cells: [String], widths: [Int]) -> String {
        zip(cells, widths).map { cell, width in
            let pad = String(repeating: " ", count: max(0, abs(width) - cell.count))
            return width < 0 ? cell + pad : pad + cell
        }.joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))s" : String(format: "%.1fs", value)
    }
}
