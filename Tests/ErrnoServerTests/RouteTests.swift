import Captures
import ErrnoConfig
import ErrnoKernel
import ErrnoMetrics
import Exposition
import Foundation
import Hummingbird
import HummingbirdTesting
import KernelFakes
import KernelNames
import Logging
import NIOCore
import Stacks
import Synchronization
import Testing
import Watches

@testable import ErrnoServer

/// Every route in-process, on a fake kernel: statuses, content types, JSON shapes, escaping. No root,
/// no socket.
@Suite struct RouteTests {
    /// An agent's HTTP side over a `FakeKernel`: one on_alert trigger, one capture stored.
    struct Fixture {
        let kernel = FakeKernel()
        let store = CaptureStore(capacity: 10)
        let triggers: TriggerDirectory
        let webhook: AlertWebhook
        let gatherer: Gatherer

        init() throws {
            var trigger = Config.Trigger(name: "nodey", paths: ["/etc/nodey.conf"])
            trigger.armed = .onAlert
            var config = Config()
            config.triggers = [trigger]
            try kernel.apply(config.kernelSettings())
            var counters = KernelCounters()
            counters.syscallFailures = [SyscallFailure(syscall: 257, errno: 2, comm: "node", count: 5)]
            counters.triggers = ["nodey": TriggerCounts(matches: 3, captures: 1)]
            kernel.setCounters(counters)
            triggers = TriggerDirectory(kernel: kernel, triggers: config.triggers)
            webhook = AlertWebhook(triggers: triggers, logger: Logger(label: "test"))
            let metrics = FailureMetrics(kernel: kernel, config: config, rewriter: try PathRewriter([]), countingSince: 1_700_000_000, syscalls: SyscallNames(.x86_64))
            gatherer = Gatherer(collectors: [metrics, triggers, webhook], durationMetricName: "errno_exporter_scrape_duration_seconds", countingSince: 1_700_000_000)
            var frame = StackFrame(address: 0x1234, method: .framePointer)
            frame.symbol = "JS:~loadConfig"
            frame.file = "/srv/server.js"
            frame.line = 9
            store.add(Capture(
                triggers: ["nodey"], time: Date(timeIntervalSince1970: 1_700_000_000), pid: 42, tid: 42, comm: "node<script>", syscall: "openat",
                path: "/etc/\"nodey\".conf", errno: "ENOENT", result: -2, userStack: [frame]))
        }

        func app(
            reload: (@Sendable () throws -> Void)? = nil, openMetricsCreatedSamples: Bool = true, investigations: InvestigationAPI? = nil, recent: RecentFailures? = nil,
            afterScrape: @escaping @Sendable (_ succeeded: Bool) -> Void = { _ in }
        ) -> some ApplicationProtocol {
            let kernel = self.kernel
            let server = ExporterServer(
                addresses: [], telemetryPath: "/metrics", gatherer: gatherer, isReady: { kernel.isAttached }, reload: reload,
                captures: CaptureAPI(store: store, triggers: triggers, webhook: webhook, investigations: investigations),
                openMetricsCreatedSamples: openMetricsCreatedSamples, recent: recent, afterScrape: afterScrape,
                logger: Logger(label: "test"))
            return Application(router: server.makeRouter())
        }
    }

    static let json: HTTPFields = [.contentType: "application/json"]

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test func healthAndReadinessFollowTheKernel() async throws {
        let fixture = try Fixture()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/-/healthy", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/-/ready", method: .get) { #expect($0.status == .ok) }
            fixture.kernel.setAttached(false)
            try await client.execute(uri: "/-/ready", method: .get) { #expect($0.status == .serviceUnavailable) }
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .serviceUnavailable) }
            try await client.execute(uri: "/-/healthy", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func metricsAreServedInTheFormatAskedFor() async throws {
        let fixture = try Fixture()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                let text = String(buffer: response.body)
                #expect(text.contains(#"errno_syscall_failures_total{syscall="openat",errno="ENOENT",comm="node"} 5"#))
                #expect(text.contains(#"errno_trigger_matches_total{trigger="nodey"} 3"#))
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.accept: "application/openmetrics-text;version=1.0.0"]) { response in
                #expect(response.headers[.contentType]?.hasPrefix("application/openmetrics-text") == true)
                let body = String(buffer: response.body)
                #expect(body.hasSuffix("# EOF\n"))
                // The kernel counted since 1_700_000_000; the first scrape found the series.
                #expect(body.contains(#"errno_syscall_failures_created{syscall="openat",errno="ENOENT",comm="node"} 1700000000.000"#), "\(body)")
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.acceptEncoding: "gzip"]) { response in
                #expect(response.headers[.contentEncoding] == "gzip")
                #expect(Array(response.body.readableBytesView.prefix(2)) == [0x1F, 0x8B])
            }
        }
    }

    @Test func theAfterScrapeHookRunsAfterServedScrapesOnly() async throws {
        let fixture = try Fixture()
        let runs = Mutex(0)
        try await fixture.app(afterScrape: { succeeded in
            #expect(succeeded)
            runs.withLock { $0 += 1 }
        }).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get, headers: [.acceptEncoding: "gzip"]) { #expect($0.status == .ok) }
            #expect(runs.withLock { $0 } == 2)
            try await client.execute(uri: "/-/healthy", method: .get) { #expect($0.status == .ok) }
            fixture.kernel.setAttached(false)
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .serviceUnavailable) }
            #expect(runs.withLock { $0 } == 2, "neither another route nor a refused scrape runs it")
        }
    }

    @Test func createdSamplesCanBeLeftOutOfOpenMetricsButNotProtobuf() async throws {
        let fixture = try Fixture()
        try await fixture.app(openMetricsCreatedSamples: false).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: [.accept: "application/openmetrics-text;version=1.0.0"]) { response in
                let body = String(buffer: response.body)
                #expect(body.contains(#"errno_syscall_failures_total{syscall="openat",errno="ENOENT",comm="node"} 5"#))
                #expect(!body.contains("_created"), "\(body)")
            }
            let protobuf = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
            try await client.execute(uri: "/metrics", method: .get, headers: [.accept: protobuf]) { response in
                let bytes = Array(response.body.readableBytesView)
                // Counter { value (field 1) = 5, created_timestamp (field 3) = { seconds (field 1) = 1_700_000_000 } }
                let counter: [UInt8] = [0x09] + withUnsafeBytes(of: Double(5).bitPattern.littleEndian, Array.init) + [0x1A, 6, 0x08, 0x80, 0xE2, 0xCF, 0xAA, 0x06]
                #expect((0...max(bytes.count - counter.count, 0)).contains { Array(bytes[$0..<min($0 + counter.count, bytes.count)]) == counter }, "protobuf keeps created_timestamp")
            }
        }
    }

    @Test func triggersAndCapturesAreJSONInPrometheusEnvelopes() async throws {
        let fixture = try Fixture()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/triggers", method: .get) { response in
                let body = try Self.json(response.body)
                let trigger = try #require((body["data"] as? [[String: Any]])?.first)
                #expect(body["status"] as? String == "success")
                #expect(trigger["name"] as? String == "nodey" && trigger["matches"] as? Int == 3 && trigger["armed"] as? Bool == false)
                #expect(trigger["armed_mode"] as? String == "on_alert" && trigger["stacks"] as? [String] == ["user", "kernel"])
                #expect(trigger["comm"] == nil, "absent keys stay absent")
            }
            try await client.execute(uri: "/api/v1/captures/1", method: .get) { response in
                #expect(response.headers[.cacheControl] == "no-store")
                let capture = try #require(try Self.json(response.body)["data"] as? [String: Any])
                #expect(capture["id"] as? String == "1" && capture["errno"] as? String == "ENOENT")
                #expect(capture["time"] as? String == "2023-11-14T22:13:20.000000Z")
                let frame = try #require((capture["user_stack"] as? [[String: Any]])?.first)
                #expect(frame["address"] as? String == "0x1234" && frame["line"] as? Int == 9 && frame["method"] as? String == "frame_pointer")
                #expect(capture["submitted_by"] is NSNull)
            }
            try await client.execute(uri: "/api/v1/captures/1?format=folded", method: .get) { response in
                #expect(String(buffer: response.body) == "node<script>;JS:~loadConfig /srv/server.js:9 1\n")
            }
            try await client.execute(uri: "/api/v1/captures/1?format=pprof", method: .get) { response in
                #expect(response.headers[.contentType] == "application/octet-stream")
                #expect(Array(response.body.readableBytesView.prefix(2)) == [0x1F, 0x8B])
            }
            for (uri, status) in [
                ("/api/v1/captures/2", HTTPResponse.Status.notFound), ("/api/v1/captures/x", .badRequest), ("/api/v1/captures?limit=0", .badRequest),
                ("/api/v1/captures?format=png", .badRequest), ("/api/v1/captures/1?format=png", .badRequest),
            ] {
                try await client.execute(uri: uri, method: .get) { (response: TestResponse) async throws in
                    #expect(response.status == status, "\(uri)")
                    #expect(try Self.json(response.body)["status"] as? String == "error")
                }
            }
            try await client.execute(uri: "/api/v1/captures?trigger=other", method: .get) { (response: TestResponse) async throws in
                #expect((try Self.json(response.body)["data"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test func theWebhookArmsThroughTheKernelAndRefusesBadNotifications() async throws {
        let fixture = try Fixture()
        let firing = #"{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","errno_exporter_trigger":"nodey","comm":"node"},"fingerprint":"f"}]}"#
        let json: HTTPFields = [.contentType: "application/json"]
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/alerts", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: firing)) {
                #expect($0.status == .unsupportedMediaType)
            }
            try await client.execute(uri: "/api/v1/alerts", method: .post, headers: json, body: ByteBuffer(string: "{")) {
                #expect($0.status == .badRequest)
            }
            let unknown = firing.replacingOccurrences(of: "\"nodey\"", with: "\"other\"")
            try await client.execute(uri: "/api/v1/alerts", method: .post, headers: json, body: ByteBuffer(string: unknown)) {
                #expect($0.status == .unprocessableContent)
            }
            #expect(fixture.kernel.windows.isEmpty, "refused notifications arm nothing")
            try await client.execute(uri: "/api/v1/alerts", method: .post, headers: json, body: ByteBuffer(string: firing)) { response in
                #expect(response.status == .ok)
                let armed = try #require((try Self.json(response.body)["data"] as? [String: Any])?["armed"] as? [[String: Any]])
                #expect(armed.first?["trigger"] as? String == "nodey")
            }
            #expect(fixture.kernel.windows["nodey"]?.comm == "node")
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                for line in [#"code="200"} 1"#, #"code="400"} 1"#, #"code="415"} 1"#, #"code="422"} 1"#] {
                    #expect(text.contains("errno_exporter_alert_webhook_requests_total{" + line), "\(line)")
                }
                #expect(text.contains(#"errno_trigger_armed{trigger="nodey"} 1"#))
            }
        }
    }

    @Test func reloadNeedsTheLifecycleFlagAndReportsFailures() async throws {
        let fixture = try Fixture()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/-/reload", method: .post) { #expect($0.status == .forbidden) }
        }
        struct Broken: Error, CustomStringConvertible {
            var description: String { "config.yml:3:1: bad" }
        }
        try await fixture.app(reload: { throw Broken() }).test(.router) { client in
            try await client.execute(uri: "/-/reload", method: .post) { response in
                #expect(response.status == .internalServerError)
                #expect(String(buffer: response.body).contains("config.yml:3:1: bad"))
            }
        }
        try await fixture.app(reload: {}).test(.router) { client in
            try await client.execute(uri: "/-/reload", method: .put) { #expect($0.status == .ok) }
        }
    }

    /// Ephemeral triggers kept beside the fixture's configured one (what the agent's reloader does,
    /// without a kernel program): at most two.
    final class EphemeralTriggers: EphemeralTriggerControl, @unchecked Sendable {
        let directory: TriggerDirectory
        let configured: [Config.Trigger]
        var live: [EphemeralTrigger] = []

        init(_ fixture: Fixture) {
            directory = fixture.triggers
            configured = Array(fixture.triggers.configs.values)
        }

        func addEphemeral(_ request: EphemeralTriggerRequest, by user: String) throws -> EphemeralTrigger {
            if configured.contains(where: { $0.name == request.trigger.name }) { throw EphemeralTriggerError.configured(request.trigger.name) }
            guard live.count < 2 else { throw EphemeralTriggerError.tooMany(limit: 2) }
            let trigger = EphemeralTrigger(request: request, created: Date(timeIntervalSince1970: 1_700_000_000), untilMonotonicNanoseconds: 0, createdBy: user)
            live.append(trigger)
            directory.replace(configured, ephemeral: live)
            return trigger
        }

        func removeEphemeral(_ name: String, by user: String) throws {
            if configured.contains(where: { $0.name == name }) { throw EphemeralTriggerError.configured(name) }
            guard live.contains(where: { $0.name == name }) else { throw EphemeralTriggerError.unknown(name) }
            live.removeAll { $0.name == name }
            directory.replace(configured, ephemeral: live)
        }
    }

    @Test func ephemeralTriggersNeedTheFlagAndRefuseBadRequestsSayingWhy() async throws {
        let fixture = try Fixture()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"path": "/x"}"#)) { response in
                #expect(response.status == .forbidden && String(buffer: response.body).contains("--web.enable-investigations"))
            }
            try await client.execute(uri: "/api/v1/triggers/x", method: .delete) { #expect($0.status == .forbidden) }
        }
        let api = InvestigationAPI(
            triggers: EphemeralTriggers(fixture), watches: WatchRegistry(kernel: FakeWatchKernel(), maxWatches: 1, logger: Logger(label: "test")),
            defaultDurationSeconds: 300, maxDurationSeconds: 600)
        try await fixture.app(investigations: api).test(.router) { client in
            try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"name": "t1", "path": "/etc/x", "pid": 42}"#)) { response in
                #expect(response.status == .created)
                let data = try #require(try Self.json(response.body)["data"] as? [String: Any])
                #expect(data["name"] as? String == "t1" && data["ephemeral"] as? Bool == true && data["pid"] as? Int == 42)
                #expect(data["created_by"] as? String == "anonymous" && (data["expires"] as? String)?.hasPrefix("2023-11-14T22:18:20") == true, "\(data)")
            }
            for (body, status, reason) in [
                (#"{"path": "/etc/x", "duration": "11m"}"#, HTTPResponse.Status.badRequest, "duration: expected a duration from 1s to 10m"),
                (#"{"path": "/etc/x", "pid": -1}"#, .badRequest, "pid: -1 is out of range"),
                (#"{"name": "nodey", "path": "/etc/x"}"#, .conflict, "is a configured trigger"),
                (#"{"comm": "node"}"#, .badRequest, "a trigger needs path"),
                ("not json {", .badRequest, "expected a JSON object"),
                (#"{"path": "/etc/x", "max_per_minute": 0}"#, .badRequest, "max_per_minute: an ad-hoc trigger captures 1 to 600 times a minute"),
                (#"{"path": [\#((0..<17).map { "\"/p\($0)\"" }.joined(separator: ","))]}"#, .badRequest, "at most 16 paths"),
                // YAML's anchors and aliases (an expansion bomb) are not JSON: refused before the YAML reader.
                ("a: &a [x, x]\nb: &b [*a, *a]\npath: /x\n", .badRequest, "expected a JSON object"),
                (String(repeating: "[", count: 60_000), .badRequest, "expected a JSON object"),
            ] {
                try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == status && String(buffer: response.body).contains(reason), "\(body) → \(String(buffer: response.body))")
                }
            }
            try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"path": "/etc/y"}"#)) { #expect($0.status == .created) }
            try await client.execute(uri: "/api/v1/triggers", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"path": "/etc/z"}"#)) { #expect($0.status == .tooManyRequests) }
            // Not JSON by its content type (a cross-site form, text/plain): refused before it is read.
            try await client.execute(uri: "/api/v1/triggers", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: #"{"path": "/etc/w"}"#)) {
                #expect($0.status == .unsupportedMediaType)
            }
            try await client.execute(uri: "/api/v1/triggers", method: .get) { response in
                let listed = try #require(try Self.json(response.body)["data"] as? [[String: Any]])
                #expect(listed.count == 3 && listed.filter { $0["ephemeral"] as? Bool == true }.count == 2)
                #expect(listed.first { $0["name"] as? String == "nodey" }?["ephemeral"] as? Bool == false)
            }
            try await client.execute(uri: "/api/v1/triggers/nodey", method: .delete) { #expect($0.status == .conflict) }
            try await client.execute(uri: "/api/v1/triggers/none", method: .delete) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/api/v1/triggers/t1", method: .delete) { #expect($0.status == .ok) }
        }
    }

    @Test func watchesNeedTheFlagAndAnswerWithSummariesAndStreams() async throws {
        let fixture = try Fixture()
        try await fixture.app().test(.router) { client in
            for (uri, method) in [("/api/v1/watches", HTTPRequest.Method.post), ("/api/v1/watches", .get), ("/api/v1/watches/1", .get), ("/api/v1/watches/1/events", .get), ("/api/v1/watches/1", .delete)] {
                try await client.execute(uri: uri, method: method, headers: Self.json, body: ByteBuffer(string: #"{"pid": 42}"#)) { response in
                    #expect(response.status == .forbidden && String(buffer: response.body).contains("--web.enable-investigations"), "\(method) \(uri)")
                }
            }
        }
        let kernel = FakeWatchKernel()
        let watches = WatchRegistry(kernel: kernel, maxWatches: 1, logger: Logger(label: "test"))
        let api = InvestigationAPI(triggers: EphemeralTriggers(fixture), watches: watches, defaultDurationSeconds: 300, maxDurationSeconds: 600)
        try await fixture.app(investigations: api).test(.router) { client in
            try await client.execute(uri: "/api/v1/watches", method: .post, headers: Self.json, body: ByteBuffer(string: #"{"pid": 42, "paths_only": true}"#)) { response in
                #expect(response.status == .created)
                let data = try #require(try Self.json(response.body)["data"] as? [String: Any])
                #expect(data["id"] as? String == "1" && (data["target"] as? [String: Int]) == ["pid": 42] && data["paths_only"] as? Bool == true)
                #expect(data["created_by"] as? String == "anonymous" && data["expires"] is String && data["failures"] == nil, "\(data)")
            }
            for (body, headers, status, reason) in [
                (#"{"pid": 42, "duration": "11m"}"#, Self.json, HTTPResponse.Status.badRequest, "duration: expected a duration from 1s to 10m"),
                (#"{"pid": 7}"#, Self.json, .tooManyRequests, "1 watches are running"),
                (#"{"pid": 7}"#, [.contentType: "text/plain"], .unsupportedMediaType, "Content-Type: application/json"),
            ] as [(String, HTTPFields, HTTPResponse.Status, String)] {
                try await client.execute(uri: "/api/v1/watches", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == status && String(buffer: response.body).contains(reason), "\(body) → \(String(buffer: response.body))")
                }
            }
            var reading = WatchReading()
            reading.failures = 6
            reading.events = 6
            reading.syscalls = [.init(syscallNumber: 257, errno: 2, count: 5), .init(syscallNumber: 0, errno: 9, count: 1)]
            reading.paths = [.init(syscallNumber: 257, errno: 2, path: .bytes(Array("/etc/\"x\"".utf8), truncated: false), count: 5)]
            kernel.setReading(reading, slot: 0)
            try await client.execute(uri: "/api/v1/watches/1", method: .get) { response in
                let data = try #require(try Self.json(response.body)["data"] as? [String: Any])
                #expect(data["failures"] as? Int == 6 && data["streamed"] as? Int == 6)
                let syscalls = try #require(data["syscalls"] as? [[String: Any]])
                #expect(syscalls.map { "\($0["syscall"]!) \($0["errno"]!) \($0["count"]!)" } == ["openat ENOENT 5", "read EBADF 1"])
                #expect((data["paths"] as? [[String: Any]])?.first?["path"] as? String == "/etc/\"x\"")
            }
            try await client.execute(uri: "/api/v1/watches", method: .get) { response in
                let listed = try Self.json(response.body)["data"] as? [[String: Any]]
                #expect(listed?.count == 1)
            }
            // Another site's page in the operator's browser is refused, whatever it asks.
            for headers in [[.init("Sec-Fetch-Site")!: "cross-site"], [.origin: "http://evil.example"], [.origin: "null"]] as [HTTPFields] {
                try await client.execute(uri: "/api/v1/watches/1", method: .get, headers: headers) { response in
                    #expect(response.status == .forbidden && String(buffer: response.body).contains("investigations refuse requests from"), "\(headers)")
                }
                try await client.execute(uri: "/api/v1/triggers/t", method: .delete, headers: headers) { #expect($0.status == .forbidden) }
            }
            try await client.execute(uri: "/api/v1/watches/2", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/api/v1/watches/2/events", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/api/v1/watches/1", method: .delete) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/watches/1", method: .delete) { #expect($0.status == .notFound) }
        }
    }

    @Test func theInvestigationPageShowsWhatFailsNowEscapedAndItsOwnScriptUnderAStrictPolicy() async throws {
        let fixture = try Fixture()
        // A window longer than any test takes: the rates here are over everything since the baseline.
        let recent = RecentFailures(kernel: fixture.kernel, syscalls: SyscallNames(.x86_64), window: .seconds(3600))
        recent.takeBaseline()
        var counters = KernelCounters()
        counters.syscallFailures = [SyscallFailure(syscall: 257, errno: 2, comm: "node", count: 9), SyscallFailure(syscall: 0, errno: 9, comm: "x<b>", count: 2)]
        counters.pathFailures = [PathFailure(syscall: 257, errno: 2, comm: "node", path: Array("/tmp/<img src=x>".utf8), count: 4)]
        fixture.kernel.setCounters(counters)
        try await fixture.app(recent: recent).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                let page = String(buffer: response.body)
                let policy = response.headers[.contentSecurityPolicy] ?? ""
                #expect(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'") && !policy.contains("unsafe-eval") && !policy.contains("script-src 'unsafe-inline'"))
                #expect(page.contains(#"<script src="static/investigate.js"></script>"#) && !page.contains("<script>"))
                #expect(page.contains("<h2>What fails now</h2>") && page.contains(#"<td>openat</td><td>ENOENT</td><td><a href="?comm=node#live">node</a></td>"#), "\(page)")
                #expect(page.contains("<code>/tmp/&lt;img src=x&gt;</code>") && !page.contains("<img src=x>"))
                #expect(page.contains(#"<a href="?comm=x%3Cb%3E#live">x&lt;b&gt;</a>"#))
                #expect(page.contains("Live investigations are disabled: start errno_exporter with") && !page.contains("id=\"live-form\""))
                #expect(page.contains(#"<meta name="viewport""#))
            }
            try await client.execute(uri: "/?comm=x%3Cb%3E&pid=12%3C", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(page.contains("What fails now for comm <code>x&lt;b&gt;</code>") && page.contains(#"data-comm="x&lt;b&gt;""#))
                #expect(!page.contains("<td>openat</td>"), "only that comm's rows")
            }
            try await client.execute(uri: "/static/investigate.js", method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "text/javascript; charset=utf-8")
                let script = String(buffer: response.body)
                #expect(script.contains("textContent") && !script.contains("innerHTML") && !script.contains("eval("))
            }
            try await client.execute(uri: "/api/v1/failures/recent?limit=1", method: .get) { response in
                let data = try #require(try Self.json(response.body)["data"] as? [String: Any])
                let syscalls = try #require(data["syscalls"] as? [[String: Any]])
                #expect(syscalls.count == 1 && syscalls.first?["syscall"] as? String == "openat" && syscalls.first?["count"] as? Int == 4, "\(data)")
                #expect((data["paths"] as? [[String: Any]])?.first?["path"] as? String == "/tmp/<img src=x>")
            }
            try await client.execute(uri: "/api/v1/failures/recent?limit=0", method: .get) { #expect($0.status == .badRequest) }
        }
        let api = InvestigationAPI(
            triggers: EphemeralTriggers(fixture), watches: WatchRegistry(kernel: FakeWatchKernel(), maxWatches: 1, logger: Logger(label: "test")))
        try await fixture.app(investigations: api).test(.router) { client in
            try await client.execute(uri: "/?pid=42", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(page.contains(#"<form id="live-form" method="get" action="./">"#) && page.contains(#"<input name="pid" inputmode="numeric" size="8" value="42">"#))
                #expect(!page.contains("What fails now"), "no counters behind this server")
            }
        }
    }

    @Test func streamItemsAreNDJSONLinesOrServerSentEvents() {
        let event = WatchEvent(time: Date(timeIntervalSince1970: 1_700_000_000), pid: 42, tid: 43, comm: "node", syscall: "openat", errno: "ENOENT", path: "/etc/<x>\n")
        #expect(String(decoding: WatchRoutes.frame(.failure(event), serverSent: false), as: UTF8.self)
            == #"{"comm":"node","errno":"ENOENT","path":"/etc/<x>\n","pid":42,"syscall":"openat","tid":43,"time":"2023-11-14T22:13:20.000000Z"}"# + "\n")
        #expect(String(decoding: WatchRoutes.frame(.dropped(count: 3, reason: .rateLimited), serverSent: true), as: UTF8.self)
            == "event: dropped\ndata: {\"dropped\":3,\"reason\":\"rate_limited\"}\n\n")
        #expect(String(decoding: WatchRoutes.frame(.end(.expired), serverSent: true), as: UTF8.self) == "event: end\ndata: {\"end\":\"expired\"}\n\n")
        #expect(String(decoding: WatchRoutes.frame(.heartbeat(Date()), serverSent: true), as: UTF8.self) == ": heartbeat\n\n")
        #expect(String(decoding: WatchRoutes.frame(.subscribed(watch: "4", time: Date(timeIntervalSince1970: 0)), serverSent: false), as: UTF8.self)
            == #"{"subscribed":"1970-01-01T00:00:00.000000Z","watch":"4"}"# + "\n")
        // A newline in a path cannot end an SSE event early: JSON escapes it.
        #expect(!String(decoding: WatchRoutes.frame(.failure(event), serverSent: true), as: UTF8.self).dropLast(2).contains("\n\n"))
    }

    @Test func flameGraphsAreSVGThatZoomsSearchesAndDownloads() async throws {
        let fixture = try Fixture()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/api/v1/captures?trigger=nodey&format=svg&search=load", method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "image/svg+xml; charset=utf-8" && response.headers[.contentDisposition] == nil)
                let svg = String(buffer: response.body)
                #expect(svg.contains("trigger nodey: 1 captures") && svg.contains("\"load\" matches 1 (100%)"))
                // The capture's comm (node<script>) is escaped, and each zoom link keeps the search.
                #expect(svg.contains("node&lt;script&gt;") && !svg.contains("node<script>"))
                #expect(svg.contains("href=\"captures?focus=0&amp;format=svg&amp;search=load&amp;trigger=nodey\""), "\(svg)")
            }
            try await client.execute(uri: "/api/v1/captures/1?format=svg&download=true", method: .get) { response in
                #expect(response.status == .ok && response.headers[.contentDisposition] == "attachment; filename=\"flamegraph-1.svg\"")
            }
            try await client.execute(uri: "/api/v1/captures?format=svg&search=" + String(repeating: "x", count: 2000), method: .get) { #expect($0.status == .badRequest) }
            for bad in ["focus=a", "focus=-1", "limit=10001"] {
                try await client.execute(uri: "/api/v1/captures?format=svg&" + bad, method: .get) { #expect($0.status == .badRequest, "\(bad)") }
            }
            try await client.execute(uri: "/", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(page.contains("<h2>Flame graphs</h2>") && page.contains("href=\"api/v1/captures?focus=0&amp;format=svg&amp;trigger=nodey\""))
                #expect(!page.contains("<?xml"))
            }
        }
    }

    @Test func theLandingPageFoldsTheRuntimesFramesAwayBehindTheCulprit() async throws {
        let fixture = try Fixture()
        func frame(_ symbol: String, _ module: String, file: String? = nil) -> StackFrame {
            var frame = StackFrame(address: 0x1000, method: .cfi)
            frame.symbol = symbol
            frame.module = module
            frame.moduleAddress = 0x10
            frame.file = file
            frame.line = file == nil ? nil : 7
            return frame
        }
        let libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"
        fixture.store.add(Capture(
            triggers: ["nodey"], time: Date(timeIntervalSince1970: 1_700_000_100), pid: 7, tid: 7, comm: "server", syscall: "openat",
            path: "/etc/app.conf", errno: "ENOENT", result: -2,
            userStack: [frame("open64", libc), frame("__open_nocancel", libc), frame("read_config", "/opt/app/server", file: "/src/config.c"), frame("_start", "/opt/app/server")]))
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(page.contains("<p class=\"culprit\">Culprit: <code>read_config /src/config.c:7</code></p>"))
                // libc's two frames fold into one expandable item; the program's own frames stay in view.
                let folded = try #require(page.range(of: "<li class=\"folded\"><details><summary>2 runtime and system frames</summary><ol><li>open64 "))
                let own = try #require(page.range(of: "<li>read_config /src/config.c:7 <span class=\"method\">/opt/app/server · cfi</span></li>"))
                #expect(folded.upperBound < own.lowerBound)
            }
        }
    }

    @Test func theLandingPageEscapesWhatProcessesControl() async throws {
        let fixture = try Fixture()
        try await fixture.app().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                let page = String(buffer: response.body)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.contains("<code>node&lt;script&gt;</code>"))
                #expect(page.contains("&quot;nodey&quot;"))
                #expect(!page.contains("<script>"))
                #expect(page.contains("JS:~loadConfig /srv/server.js:9"))
                #expect(page.contains("disarmed (on_alert)"))
            }
        }
    }

    @Test func downloadNamesAndHeadersCarryNothingAClientInjects() async throws {
        let fixture = try Fixture()
        try await fixture.app().test(.router) { client in
            let uri = "/api/v1/captures?format=pprof&trigger=a%22%3B%20filename*%3DUTF-8%27%27evil.sh%0D%0AX-Injected:%201"
            try await client.execute(uri: uri, method: .get) { response in
                let disposition = response.headers[.contentDisposition] ?? ""
                #expect(disposition == #"attachment; filename="captures-a___filename__UTF-8__evil.sh__X-Injected__1.pb.gz""#, "\(disposition)")
                #expect(response.headers[.init("X-Injected")!] == nil)
                #expect(response.headers[.init("X-Content-Type-Options")!] == "nosniff")
            }
        }
    }

    @Test func unknownUsersCostWhatKnownOnesDo() {
        let cheap = "$2y$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"
        let dear = "$2y$12$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"
        #expect(BasicAuthentication.costliest([cheap, dear]) == dear)
        #expect(BasicAuthentication.cost(dear) == 12)
    }
}
