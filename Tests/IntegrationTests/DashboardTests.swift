import FixtureSupport
import Foundation
import Testing

/// The shipped Grafana dashboard: every query is valid PromQL (promtool) and names only metrics
/// the real agent exposes.
@Suite(.timeLimit(.minutes(5)))
struct DashboardTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func expressions() throws -> [String] {
        let data = try Data(contentsOf: root.appendingPathComponent("dashboards/errno_exporter.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        return panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
    }

    /// Grafana's variables replaced by what Grafana would send.
    static func concrete(_ expression: String) -> String {
        expression.replacingOccurrences(of: "$__rate_interval", with: "2m").replacingOccurrences(of: "$__range", with: "1h")
            .replacingOccurrences(of: "$instance", with: ".*").replacingOccurrences(of: "$job", with: ".*").replacingOccurrences(of: "$comm", with: ".*")
    }

    @Test func everyQueryIsValidPromQL() throws {
        let expressions = try Self.expressions()
        #expect(expressions.count >= 8)
        var rules = "groups:\n  - name: dashboard\n    rules:\n"
        for (index, expression) in expressions.enumerated() {
            let quoted = Self.concrete(expression).replacingOccurrences(of: "'", with: "''")
            rules += "      - record: dashboard:query_\(index)\n        expr: '\(quoted)'\n"
        }
        let file = NSTemporaryDirectory() + "errno_exporter-dashboard-\(UUID().uuidString).yml"
        try rules.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let check = try shell("promtool check rules \(file)")
        #expect(check.status == 0, "promtool: \(check.output)")
    }

    @Test func everyMetricItNamesIsExposed() async throws {
        try requireRoot()
        let agent = try AgentProcess()
        let scrape = try await agent.scrape()
        let exposed = Set(scrape.text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        let pattern = try NSRegularExpression(pattern: #"\b(errno_[a-z_]+|process_[a-z_]+)\b"#)
        for expression in try Self.expressions() {
            let range = NSRange(expression.startIndex..., in: expression)
            for match in pattern.matches(in: expression, range: range) {
                let name = String(expression[Range(match.range, in: expression)!])
                #expect(exposed.contains(name), "the dashboard queries \(name), which the agent does not expose")
            }
        }
        #expect(try agent.stop() == 0)
    }
}
