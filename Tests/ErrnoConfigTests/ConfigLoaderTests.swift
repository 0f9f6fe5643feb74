import Foundation
import Testing

@testable import ErrnoConfig

@Suite struct ConfigLoaderTests {
    func issues(_ yaml: String) -> [ConfigIssue] {
        do {
            _ = try ConfigLoader.parse(yaml, file: "test.yml")
            return []
        } catch let error as ConfigError {
            return error.issues
        } catch {
            Issue.record("unexpected error \(error)")
            return []
        }
    }

    @Test func emptyAndNullDocumentsAreTheDefaults() throws {
        #expect(try ConfigLoader.parse("", file: "t") == Config())
        #expect(try ConfigLoader.parse("# only a comment\n", file: "t") == Config())
        #expect(try ConfigLoader.parse("syscalls:\n", file: "t") == Config())
    }

    @Test func readsMaxSeries() throws {
        #expect(try ConfigLoader.parse("syscalls:\n  max_series: 64\n", file: "t").syscalls.maxSeries == 64)
    }

    @Test func theShippedDefaultConfigIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let config = try ConfigLoader.load(path: root.appendingPathComponent("config/errno_exporter.yml").path)
        #expect(config.syscalls.maxSeries == Config().syscalls.maxSeries)
    }

    @Test func unknownKeyNamesLineColumnPathAndAHint() {
        let found = issues("syscalls:\n  max_serie: 5\n")
        #expect(found.map(\.description) == [#"test.yml:2:3: syscalls.max_serie: unknown key; did you mean "max_series"?"#])
    }

    @Test func everyProblemIsReportedAtOnce() {
        let found = issues("syscalls:\n  max_series: lots\nbogus: 1\nother:\n  x: 1\n")
        #expect(found.map { "\($0.line):\($0.column) \($0.keyPath)" } == ["2:15 syscalls.max_series", "3:1 bogus", "4:1 other"])
        #expect(found[0].message == "expected an integer")
    }

    @Test func outOfRangeAndWrongShapes() {
        #expect(issues("syscalls:\n  max_series: 0\n").first?.message == "0 is out of range 1...1000000")
        #expect(issues("syscalls:\n  max_series: \"12\"\n").first?.message == "expected an integer")
        #expect(issues("syscalls: [1, 2]\n").first?.message == "expected a mapping of labels, max_series, exclude_errnos")
        #expect(issues("- a\n- b\n").first?.message == "expected a mapping of syscalls, paths, filters")
    }

    @Test func syntaxErrorsAndDuplicateKeysHaveLocations() {
        let syntax = issues("syscalls:\n  max_series: [1\n")
        #expect(syntax.count == 1)
        #expect(syntax.first?.message.hasPrefix("invalid YAML") == true)
        #expect((syntax.first?.line ?? 0) >= 2)
        let duplicate = issues("syscalls:\n  max_series: 1\n  max_series: 2\n")
        #expect(duplicate.first?.message.contains("duplicate key max_series") == true)
    }

    @Test func unreadableFileSaysWhy() {
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: "/nonexistent/errno_exporter.yml") }
        do {
            _ = try ConfigLoader.load(path: "/nonexistent/errno_exporter.yml")
        } catch {
            #expect("\(error)".contains("/nonexistent/errno_exporter.yml: cannot read the config file"))
        }
    }
}
