import FixtureSupport
import Foundation
import Testing
import Yams

/// The shipped deployment files, checked by the tools that consume them.
@Suite(.timeLimit(.minutes(5)))
struct DeploymentTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theSystemdUnitVerifies() throws {
        let unit = try String(contentsOf: Self.root.appendingPathComponent("config/systemd/errno_exporter.service"), encoding: .utf8)
        #expect(unit.contains("AmbientCapabilities=CAP_BPF CAP_PERFMON CAP_SYSLOG CAP_SYS_PTRACE CAP_DAC_READ_SEARCH"))
        #expect(unit.contains("ProtectSystem=strict") && unit.contains("NoNewPrivileges=yes"))
        // systemd-analyze checks that ExecStart exists: point it at the binary this test run built.
        let directory = NSTemporaryDirectory() + "errno-unit-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/errno_exporter.service"
        try unit.replacingOccurrences(of: "/usr/local/bin/errno_exporter", with: Products.agent).write(toFile: path, atomically: true, encoding: .utf8)
        let verify = try shell("systemd-analyze verify \(path)")
        #expect(verify.status == 0, "\(verify.output)")
        #expect(!verify.output.contains("errno_exporter.service:"), "systemd-analyze complained: \(verify.output)")
    }

    @Test func theShippedPrometheusRulesAndAlertmanagerConfigsCheckClean() throws {
        let config = Self.root.appendingPathComponent("config")
        let rules = try shell("promtool check rules \(config.appendingPathComponent("prometheus/errno_exporter.rules.yml").path)")
        #expect(rules.status == 0 && rules.output.contains("SUCCESS: 11 rules found"), "\(rules.output)")
        let prometheus = try shell("promtool check config \(config.appendingPathComponent("prometheus/prometheus.yml").path)")
        #expect(prometheus.status == 0, "\(prometheus.output)")
        for file in ["alertmanager.yml", "alertmanager-webhook.yml"] {
            let alertmanager = try shell("amtool check-config \(config.appendingPathComponent("alertmanager/\(file)").path)")
            #expect(alertmanager.status == 0 && alertmanager.output.contains("SUCCESS"), "\(file): \(alertmanager.output)")
        }
    }

    @Test func theDashboardIsWhatItsGeneratorWrites() throws {
        let dashboard = Self.root.appendingPathComponent("dashboards/errno_exporter.json").path
        let copy = NSTemporaryDirectory() + "errno-dashboard-\(UUID().uuidString.prefix(8)).json"
        try FileManager.default.copyItem(atPath: dashboard, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let generate = try shell("python3 \(Self.root.appendingPathComponent("scripts/gen_dashboard.py").path) && cmp \(dashboard) \(copy)")
        #expect(generate.status == 0, "dashboards/errno_exporter.json differs from scripts/gen_dashboard.py's output: run `make dashboard`; \(generate.output)")
    }

    @Test func theDaemonSetHasWhatTheAgentNeeds() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("config/kubernetes/daemonset.yaml"), encoding: .utf8)
        let documents = try Array(Yams.load_all(yaml: text)).compactMap { $0 as? [String: Any] }
        #expect(documents.compactMap { $0["kind"] as? String } == ["Namespace", "ConfigMap", "DaemonSet"])
        let config = try #require(documents[1]["data"] as? [String: String])["config.yml"]
        let configFile = NSTemporaryDirectory() + "errno-k8s-\(UUID().uuidString.prefix(8)).yml"
        try #require(config).write(toFile: configFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: configFile) }
        let check = try shell("\(Products.agent) --config.check --config.file=\(configFile)")
        #expect(check.status == 0, "the ConfigMap's config must be valid: \(check.output)")

        let spec = try #require((documents[2]["spec"] as? [String: Any])?["template"] as? [String: Any])["spec"] as? [String: Any]
        #expect(spec?["hostPID"] as? Bool == true)
        let container = try #require((spec?["containers"] as? [[String: Any]])?.first)
        let security = try #require(container["securityContext"] as? [String: Any])
        let capabilities = try #require(security["capabilities"] as? [String: [String]])
        #expect(capabilities["add"] == ["BPF", "PERFMON", "SYSLOG", "SYS_PTRACE", "DAC_READ_SEARCH"])
        #expect(capabilities["drop"] == ["ALL"])
        let mounts = (container["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["mountPath"] as? String }
        #expect(Set(mounts).isSuperset(of: ["/sys/kernel/btf", "/etc/errno_exporter"]))
        let probes = [container["readinessProbe"], container["livenessProbe"]].compactMap { ($0 as? [String: Any])?["httpGet"] as? [String: Any] }
        #expect(probes.compactMap { $0["path"] as? String } == ["/-/ready", "/-/healthy"])
    }

    /// Debian builds Prometheus without Kubernetes discovery, so promtool checks everything else
    /// (relabel rules included) with the discovery swapped for a static target; the discovery
    /// block itself is checked by structure.
    @Test func thePrometheusScrapeConfigIsValid() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("config/kubernetes/prometheus.yml"), encoding: .utf8)
        let config = try #require(try Yams.load(yaml: text) as? [String: Any])
        let job = try #require((config["scrape_configs"] as? [[String: Any]])?.first)
        let discovery = try #require((job["kubernetes_sd_configs"] as? [[String: Any]])?.first)
        #expect(discovery["role"] as? String == "pod")
        #expect(((discovery["namespaces"] as? [String: Any])?["names"] as? [String]) == ["errno-exporter"])

        let withoutDiscovery = text.replacingOccurrences(
            of: "    kubernetes_sd_configs:\n      - role: pod\n        namespaces:\n          names: [errno-exporter]\n",
            with: "    static_configs:\n      - targets: ['127.0.0.1:9717']\n")
        #expect(withoutDiscovery != text)
        let file = NSTemporaryDirectory() + "errno-k8s-prometheus-\(UUID().uuidString.prefix(8)).yml"
        try withoutDiscovery.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let check = try shell("promtool check config \(file)")
        #expect(check.status == 0, "\(check.output)")
    }

    @Test func makeInstallPutsEveryFileInPlace() throws {
        let destination = NSTemporaryDirectory() + "errno-install-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: destination) }
        let install = try shell("cd \(Self.root.path) && make -s install-files BINARY=\(Products.agent) DESTDIR=\(destination) PREFIX=/usr")
        #expect(install.status == 0, "\(install.output)")
        for file in ["usr/bin/errno_exporter", "etc/errno_exporter/config.yml", "etc/systemd/system/errno_exporter.service"] {
            #expect(FileManager.default.fileExists(atPath: "\(destination)/\(file)"), "\(file) missing")
        }
        let unit = try String(contentsOfFile: "\(destination)/etc/systemd/system/errno_exporter.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/errno_exporter "))
        let version = try shell("\(destination)/usr/bin/errno_exporter --version")
        #expect(version.output.hasPrefix("errno_exporter, version "))
    }
}
