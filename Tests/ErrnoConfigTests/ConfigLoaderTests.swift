@testable import ErrnoConfig
import Foundation
import Stacks
import SystemSupport
import Testing

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

    /// Booleans are YAML 1.1's plain spellings in any case (as with Yams' default resolver before);
    /// quoted or `!!str`-tagged text, numbers and other words are errors.
    @Test func booleansAreTheYAMLSpellingsOnly() throws {
        func fleetWide(_ text: String) throws -> Bool { try ConfigLoader.parse("alerts:\n  fleet_wide: \(text)\n", file: "t").alerts.fleetWide }
        for word in ["true", "True", "TRUE", "tRUE", "yes", "Yes", "YES", "on", "On", "ON", "!!bool true"] { #expect(try fleetWide(word), "\(word)") }
        for word in ["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "oFF"] { #expect(try !fleetWide(word), "\(word)") }
        for word in ["'true'", "\"yes\"", "!!str true", "1", "y", "~", "[true]"] {
            #expect(issues("alerts:\n  fleet_wide: \(word)\n").map(\.message) == ["expected true or false"], "\(word)")
        }
    }

    @Test func readsMaxSeries() throws {
        #expect(try ConfigLoader.parse("syscalls:\n  max_series: 64\n", file: "t").syscalls.maxSeries == 64)
    }

    @Test func theShippedDefaultConfigIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let config = try ConfigLoader.load(path: root.appendingPathComponent("config/errno_exporter.yml").path)
        #expect(config.syscalls.maxSeries == Config().syscalls.maxSeries)
        // It watches the lab's file (CONTRACT.md: "watching /etc/nodey.conf").
        #expect(config.triggers.map(\.name) == ["nodey-conf"])
        #expect(config.triggers.first?.paths == ["/etc/nodey.conf"])
    }

    @Test func triggersReadWithTheirDefaults() throws {
        let config = try ConfigLoader.parse(
            """
            triggers:
              - name: nodey-conf
                path: /etc/nodey.conf
                comm: node
              - name: etc
                path_prefix: [/etc/ssl/, /etc/pki/]
                path: /etc/hosts
                result: any
                stacks: [user]
                max_per_minute: 0
                armed: on_alert
                arm_for: 1h30m
            captures:
              keep: 50
              user_stack_bytes: 32768
            """, file: "t.yml")
        let nodey = config.triggers[0], etc = config.triggers[1]
        #expect(nodey.paths == ["/etc/nodey.conf"] && nodey.prefixes.isEmpty && nodey.comm == "node")
        #expect(nodey.result == .failure && nodey.stacks == [.user, .kernel] && nodey.maxPerMinute == 10 && nodey.armed == .always)
        #expect(nodey.armForSeconds == 600)
        #expect(etc.prefixes == ["/etc/ssl/", "/etc/pki/"] && etc.paths == ["/etc/hosts"] && etc.comm == nil)
        #expect(etc.result == .any && etc.stacks == [.user] && etc.maxPerMinute == 0 && etc.armed == .onAlert && etc.armForSeconds == 5400)
        #expect(config.captures.keep == 50 && config.captures.userStackBytes == 32768)
    }

    @Test func durationsAreWrittenAsPrometheusWritesThem() {
        #expect(DurationText.seconds("30s") == 30)
        #expect(DurationText.seconds("10m") == 600)
        #expect(DurationText.seconds("1h30m") == 5400)
        #expect(DurationText.seconds("2d") == 172_800)
        for bad in ["", "10", "m", "1.5h", "-1m", "10 m", "1y", "99999999999s"] { #expect(DurationText.seconds(bad) == nil, "\(bad)") }
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
        #expect(issues("- a\n- b\n").first?.message == "expected a mapping of syscalls, paths, filters, triggers, captures, alerts, symbolization")
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

/// The `alerts:` section (fleet mode) and its matchers.
@Suite struct AlertsConfigTests {
    @Test func theAlertsSectionReadsEveryKey() throws {
        let token = NSTemporaryDirectory() + "errno-token-\(UUID().uuidString)"
        try "t0ken\n".write(toFile: token, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: token) }
        let config = try ConfigLoader.parse("""
            alerts:
              alertmanager_urls: [http://am-1:9093, 'https://am-2:9093/prefix']
              poll_interval: 10s
              timeout: 3s
              instances: [web-1:9717]
              fleet_wide: false
              matchers: ['cluster="eu-1"', 'env!~"dev|test"']
              tls_config: {insecure_skip_verify: true}
              authorization: {credentials_file: \(token)}
            """, file: "/etc/errno_exporter/config.yml")
        let alerts = config.alerts
        #expect(alerts.alertmanagerURLs == ["http://am-1:9093", "https://am-2:9093/prefix"])
        #expect(alerts.pollIntervalSeconds == 10 && alerts.timeoutSeconds == 3)
        #expect(alerts.instances == ["web-1:9717"] && !alerts.fleetWide)
        #expect(alerts.matchers.map(\.description) == [#"cluster="eu-1""#, #"env!~"dev|test""#])
        #expect(alerts.tls.insecureSkipVerify)
        #expect(alerts.credentials == .authorization(type: "Bearer", credentials: .file(token)))
    }

    @Test func theTimeoutDefaultsToThePollIntervalUpToTenSeconds() throws {
        #expect(try ConfigLoader.parse("alerts:\n  poll_interval: 2s\n", file: "c.yml").alerts.timeoutSeconds == 2)
        #expect(try ConfigLoader.parse("alerts:\n  poll_interval: 1m\n", file: "c.yml").alerts.timeoutSeconds == 10)
        #expect(try ConfigLoader.parse("", file: "c.yml").alerts == Config.Alerts())
    }

    @Test func relativeSecretFilesAreRelativeToTheConfigFile() throws {
        let directory = NSTemporaryDirectory() + "errno-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "pw".write(toFile: "\(directory)/am.password", atomically: true, encoding: .utf8)
        let config = try ConfigLoader.parse("alerts:\n  basic_auth: {username: agent, password_file: am.password}\n", file: "\(directory)/config.yml")
        #expect(config.alerts.credentials == .basic(username: "agent", password: .file("\(directory)/am.password")))
    }

    @Test func matchersMatchAsAlertmanagerDoes() throws {
        let regex = try AlertMatcher(parsing: #"instance =~ "web-1(:9717)?|""#)
        #expect(regex.matches(["instance": "web-1"]) && regex.matches(["instance": "web-1:9717"]))
        #expect(regex.matches([:]), "a missing label is the empty value")
        #expect(!regex.matches(["instance": "web-10"]), "anchored at both ends")
        #expect(!regex.matches(["instance": "web-1\n"]), "no final newline slips past the end anchor")
        let notEqual = try AlertMatcher(parsing: "env!=prod")
        #expect(notEqual.matches(["env": "dev"]) && !notEqual.matches(["env": "prod"]))
        let quoted = try AlertMatcher(parsing: #"summary="say \"hi\"\n""#)
        #expect(quoted.value == "say \"hi\"\n")
        #expect(quoted.description == #"summary="say \"hi\"\n""#)
        #expect(try AlertMatcher(parsing: quoted.description) == quoted, "description parses back")
        #expect(throws: AlertMatcherError.self) { try AlertMatcher(parsing: #"a="unclosed"#) }
        for re2Refuses in [#"a=~"x(?=y)""#, #"a=~"(x)\\1""#, #"a=~"x*+""#, #"a=~"(?<!x)y""#] {
            #expect(throws: AlertMatcherError.self, "\(re2Refuses)") { try AlertMatcher(parsing: re2Refuses) }
        }
        #expect(throws: AlertMatcherError.self) { try AlertMatcher(parsing: String(repeating: "a", count: 5000) + "=b") }
    }
}

/// Durations as Prometheus writes them, bounded.
@Suite struct DurationTextTests {
    @Test func durationsAddUpAndOverflowIsRefused() {
        #expect(DurationText.seconds("1h30m") == 5400)
        #expect(DurationText.seconds("7d") == 604_800)
        #expect(DurationText.seconds(String(repeating: "999999999w", count: 20_000)) == nil, "an overflowing sum is not a duration")
        #expect(DurationText.seconds("10") == nil && DurationText.seconds("m") == nil)
    }
}

/// The `symbolization:` section: debuginfod servers and the cache of what they send.
@Suite struct SymbolizationConfigTests {
    @Test func theSymbolizationSectionReadsEveryKey() throws {
        let config = try ConfigLoader.parse("""
            symbolization:
              debuginfod_urls: [http://debuginfod.internal:8002, 'https://debuginfod.debian.net']
              cache_dir: /srv/cache/debuginfod
              cache_max_bytes: 2147483648
              timeout: 45s
            """, file: "c.yml")
        let settings = config.symbolization.debuginfod
        #expect(settings.urls == ["http://debuginfod.internal:8002", "https://debuginfod.debian.net"])
        #expect(settings.cacheDirectory == "/srv/cache/debuginfod" && settings.cacheMaxBytes == 2 << 30 && settings.timeoutSeconds == 45)
        #expect(settings.isEnabled)
    }

    @Test func withoutServersNothingIsFetched() throws {
        let settings = try ConfigLoader.parse("captures: {keep: 5}\n", file: "c.yml").symbolization.debuginfod
        // The test process never called DebuginfodEnvironment.reserve(): nothing is inherited.
        #expect(settings.urls.isEmpty && !settings.isEnabled)
        #expect(settings.cacheDirectory == "/var/cache/errno_exporter/debuginfod" && settings.cacheMaxBytes == 1 << 30 && settings.timeoutSeconds == 30)
        // Not set: the environment's servers (if any); an empty list: off, whatever the environment says.
        #expect(try ConfigLoader.parse("captures: {keep: 5}\n", file: "c.yml").symbolization.debuginfodURLs == nil)
        #expect(try ConfigLoader.parse("symbolization: {debuginfod_urls: []}\n", file: "c.yml").symbolization.debuginfodURLs == [])
    }
}
