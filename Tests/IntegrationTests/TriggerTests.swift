import FixtureSupport
import Foundation
import Glibc
import Testing

/// Stack-capture triggers against the real kernel: matching in the kernel, complete user stacks
/// (CFI, frame pointers, stripped binaries, processes that exit at once), rate limits, the API.
@Suite(.timeLimit(.minutes(5)))
struct TriggerTests {
    static let chain = ["open_config", "load_settings", "start_service", "main"]

    @Test(arguments: ["deep_fp", "deep_nofp"])
    func everyFrameFromOpenUpToMainIsNamed(build: String) async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-trig")
        let agent = try AgentProcess(config: "triggers:\n  - {name: deep, path_prefix: \(directory)/}\n")
        let program = try FixtureProgram.path(build)
        try await runFixture(program, path: "\(directory)/settings.conf")
        let capture = try #require(try await agent.waitForCaptures(trigger: "deep").first)
        #expect(capture.path == "\(directory)/settings.conf" && capture.errno == "ENOENT" && capture.syscall == "openat")
        #expect(capture.comm == String(build.prefix(15)) && capture.result == -2 && capture.tid == capture.pid)
        let symbols = capture.symbols
        // libc's open, then the fixture's chain, each function exactly once and in order, then libc's start.
        #expect(symbols.first.map { $0.contains("open") } == true, "\(symbols)")
        #expect(Array(symbols.dropFirst().prefix(4)) == Self.chain, "\(symbols)")
        #expect(symbols.contains("__libc_start_main"), "\(symbols)")
        #expect(capture.unwind.end == "outermost", "\(capture.unwind)")
        #expect(capture.user_stack.first?.method == "registers")
        for frame in capture.user_stack.dropFirst() {
            #expect(frame.method == "cfi", "every binary here has .eh_frame: \(frame)")
        }
        for frame in capture.user_stack[1...4] { #expect(frame.module == program) }
        #expect(capture.unwind.unresolved_frames == 0)
        #expect(!capture.kernel_stack.isEmpty && capture.kernel_stack.allSatisfy { $0.symbol != nil })
        #expect(try agent.stop() == 0)
    }

    @Test func aStrippedBinaryUnwindsCompletelyAndKeepsModuleAndOffset() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-trig")
        let agent = try AgentProcess(config: "triggers:\n  - {name: stripped, path_prefix: \(directory)/}\n")
        let program = try FixtureProgram.path("deep_stripped")
        try await runFixture(program, path: "\(directory)/x")
        let capture = try #require(try await agent.waitForCaptures(trigger: "stripped").first)
        // Same code as deep_nofp: its symbols say which function each return address is in.
        let functions = try FixtureProgram.symbols("deep_nofp").sorted { $0.value < $1.value }
        func function(containing address: UInt64) -> String? { functions.last { $0.value <= address }?.key }
        let frames = capture.user_stack[1...4]
        for (frame, name) in zip(frames, Self.chain) {
            #expect(frame.symbol == nil && frame.module == program && frame.method == "cfi")
            let address = try #require(frame.module_address.flatMap { UInt64($0.dropFirst(2), radix: 16) })
            #expect(function(containing: address - 1) == name, "\(frame)")
        }
        #expect(capture.unwind.end == "outermost")
        #expect(capture.unwind.unresolved_frames >= 4)
        let scrape = try await agent.scrape()
        #expect((scrape.value("errno_exporter_unresolved_frames_total", ["stack": "user"]) ?? 0) >= 4)
        #expect(try agent.stop() == 0)
    }

    @Test func aProcessThatExitsRightAfterItsOpenStillGetsASymbolizedCapture() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-trig")
        let agent = try AgentProcess(config: "triggers:\n  - {name: brief, path: \(directory)/gone, max_per_minute: 0}\n")
        // deep opens and returns from main at once; repeat so that some captures are read after the exit.
        for _ in 0..<5 { try await runFixture(try FixtureProgram.path("deep_nofp"), path: "\(directory)/gone", linger: false) }
        let captures = try await agent.waitForCaptures(trigger: "brief", count: 5)
        #expect(captures.count == 5)
        for capture in captures {
            let complete = Array(capture.symbols.dropFirst().prefix(4)) == Self.chain
            if kernelRecordsMappings {
                #expect(complete, "the kernel recorded the mappings: \(capture.symbols) \(capture.unwind)")
                #expect(!capture.unwind.without_maps)
            } else if !complete {
                // Without the VMA iterator a process gone before its maps were read, or before its
                // files were, keeps bare addresses, and says so.
                #expect(capture.unwind.process_exited && capture.unwind.unresolved_frames > 0, "\(capture.symbols) \(capture.unwind)")
            }
            #expect(!(capture.unwind.without_maps && complete), "no map, no names: \(capture.symbols)")
            #expect(kill(Int32(capture.pid), 0) != 0)
        }
        let counted = try await agent.scrape().value("errno_exporter_captures_without_maps_total")
        #expect(counted == Double(captures.filter(\.unwind.without_maps).count), "\(captures.map { "\($0.symbols) \($0.unwind)" })")
        #expect(try agent.stop() == 0)
    }

    @Test func exactPathsPrefixesCommsAndResultsMatchInTheKernel() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-trig")
        let comm = uniqueComm("ep_trig_"), other = uniqueComm("ep_othr_")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        FileManager.default.createFile(atPath: "\(directory)/present", contents: Data())
        let agent = try AgentProcess(config: """
            triggers:
              - {name: exact, path: \(directory)/nodey.conf, max_per_minute: 0, stacks: []}
              - {name: prefix, path_prefix: \(directory)/pre/, max_per_minute: 0, stacks: []}
              - {name: mine, path: \(directory)/mine, comm: \(comm), max_per_minute: 0, stacks: []}
              - {name: opened, path: \(directory)/present, result: success, max_per_minute: 0, stacks: [user]}
              - {name: missing-only, path: \(directory)/present, max_per_minute: 0, stacks: []}
            """)
        try await offPool { try runLoad(comm: comm, paths: [
            PathPlan("openat", 7, "\(directory)/nodey.conf"), PathPlan("openat", 3, "\(directory)/nodey.conf.bak"),
            PathPlan("openat", 2, "\(directory)/nodey.con"), PathPlan("open", 4, "\(directory)/nodey.conf"),
            PathPlan("openat", 5, "\(directory)/pre/a"), PathPlan("openat", 6, "\(directory)/pre/deeper/b"),
            PathPlan("openat", 3, "\(directory)/pre"), PathPlan("openat", 2, "\(directory)/prefix"),
            PathPlan("openat", 4, "\(directory)/mine"),
        ]) }
        try await runFixture(try FixtureProgram.path("deep_fp"), path: "\(directory)/present", count: 3)  // successful opens
        try await offPool { try runLoad(comm: other, paths: [PathPlan("openat", 9, "\(directory)/mine")]) }
        let scrape = try await agent.scrape()
        func matches(_ trigger: String) -> Double? { scrape.value("errno_trigger_matches_total", ["trigger": trigger]) }
        #expect(matches("exact") == 11)  // 7 openat + 4 open; not .bak, not a shorter name
        #expect(matches("prefix") == 11)  // /pre/ and below, not /pre nor /prefix
        #expect(matches("mine") == 4)  // not the other comm's 9
        #expect(matches("opened") == 3)  // successful opens
        #expect(matches("missing-only") == 0)  // its result is failure: the file exists
        #expect(scrape.value("errno_stack_captures_total", ["trigger": "exact"]) == 11)
        let opened = try await agent.waitForCaptures(trigger: "opened", count: 3)
        #expect(opened.allSatisfy { $0.errno == nil && $0.result >= 0 && $0.kernel_stack.isEmpty && !$0.user_stack.isEmpty })
        #expect(try agent.stop() == 0)
    }

    @Test func aHotLoopIsRateLimitedInTheKernelAndEveryMatchIsCounted() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-trig")
        let comm = uniqueComm("ep_rate_")
        let agent = try AgentProcess(config: "triggers:\n  - {name: hot, path: \(directory)/hot, max_per_minute: 6}\n")
        let started = Date()
        try await offPool { try runLoad(comm: comm, paths: [PathPlan("openat", 100_000, "\(directory)/hot")]) }
        let elapsed = Date().timeIntervalSince(started)
        let scrape = try await agent.scrape()
        #expect(scrape.value("errno_trigger_matches_total", ["trigger": "hot"]) == 100_000)
        let captured = try #require(scrape.value("errno_stack_captures_total", ["trigger": "hot"]))
        // A burst of 6, then one every 10 s.
        #expect(captured >= 6 && captured <= 6 + (elapsed / 10).rounded(.up), "\(captured) captures in \(elapsed) s")
        #expect(scrape.value("errno_exporter_dropped_events_total", ["reason": "rate_limited"]) == 100_000 - captured)
        #expect(scrape.value("errno_exporter_dropped_events_total", ["reason": "ring_buffer_full"]) == 0)
        let stored = try await agent.waitForCaptures(trigger: "hot", count: Int(captured))
        #expect(stored.count == Int(captured))
        // Memory stays bounded: the agent holds a few captures, not 100,000.
        #expect((scrape.value("process_resident_memory_bytes") ?? .infinity) < 300 * 1024 * 1024)
        #expect(try agent.stop() == 0)
    }

    @Test func theCaptureAPIListsFiltersAndServesFoldedStacks() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-trig")
        // Only deep_fp counts: other tests' floods of distinct paths cannot fill this agent's path map.
        let agent = try AgentProcess(config: """
            filters:
              comms: [deep_fp, deep_noid, deep_inlined]
            triggers:
              - {name: one, path: \(directory)/one, max_per_minute: 0}
              - {name: two, path: \(directory)/two, max_per_minute: 0}
              - {name: noid, path: \(directory)/noid, max_per_minute: 0}
              - {name: inlined, path: \(directory)/inlined, max_per_minute: 0}
            captures:
              keep: 4
            """)
        let program = try FixtureProgram.path("deep_fp")
        try await runFixture(program, path: "\(directory)/one", count: 2)
        try await runFixture(program, path: "\(directory)/two", count: 3)
        _ = try await agent.waitForCaptures(trigger: "two", count: 3)
        let all = try await agent.captures()
        #expect(all.count == 4)  // keep: 4 of the 5
        #expect(all.map { UInt64($0.id)! } == all.map { UInt64($0.id)! }.sorted(by: >))  // newest first
        #expect(try await agent.captures("?trigger=one").count == 1)
        #expect(try await agent.captures("?limit=2").count == 2)
        let newest = try #require(all.first)
        let folded = try await agent.get("/api/v1/captures/\(newest.id)?format=folded")
        #expect(folded.status == 200)
        // Frames with DWARF lines show them: `open_config /…/deep.c:30`.
        let foldedNames = folded.body.split(separator: ";").map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(foldedNames.starts(with: ["deep_fp", "_start", "__libc_start_main", "__libc_start_call_main", "main", "start_service", "load_settings", "open_config"]), "\(folded.body)")
        let callerOpen = try FixtureProgram.line(marked: "open_config's open")
        #expect(folded.body.contains(";open_config \(FixtureProgram.source):\(callerOpen);"), "\(folded.body)")
        #expect(folded.body.hasSuffix(" 1\n"))
        let single = try await agent.get("/api/v1/captures/\(newest.id)")
        #expect(single.status == 200 && single.headers["content-type"] == "application/json")
        // Build IDs: the fixture's frames carry its own (as readelf shows it), kernel frames the kernel's.
        let fixtureID = try #require(try FixtureProgram.buildID("deep_fp"))
        #expect(single.body.contains(#""module":"\#(program)","module_address":"#) && single.body.contains(#""build_id":"\#(fixtureID)""#), "\(single.body)")
        let kernelID = try #require(single.body.firstMatch(of: #/"build_id":"([0-9a-f]{40})","inlined":false,"method":"kernel","module":"\[kernel\]"/#)?.1)
        #expect(single.body.contains(#""modules_without_build_id":[]"#))
        let withIDs = try await agent.get("/api/v1/captures/\(newest.id)?format=folded&build_ids=true").body
        #expect(withIDs.contains(";open_config \(FixtureProgram.source):\(callerOpen) [\(fixtureID)];") && withIDs.contains(" [\(kernelID)]_[k]"), "\(withIDs)")
        #expect(try await agent.get("/api/v1/captures/\(newest.id)?format=folded&build_ids=maybe").status == 400)
        #expect(try await agent.get("/api/v1/captures/999999").status == 404)
        #expect(try await agent.get("/api/v1/captures/abc").status == 400)
        #expect(try await agent.get("/api/v1/captures/\(newest.id)?format=png").status == 400)
        #expect(try await agent.get("/api/v1/captures?limit=0").status == 400)
        // pprof: one capture, and the aggregate of a trigger's, read by Debian's `go tool pprof`.
        for (query, samples) in [("/api/v1/captures/\(newest.id)?format=pprof", 1), ("/api/v1/captures?trigger=two&format=pprof", 3)] {
            let file = NSTemporaryDirectory() + "errno-pprof-\(UUID().uuidString.prefix(8)).pb.gz"
            defer { try? FileManager.default.removeItem(atPath: file) }
            let fetch = try await offPool { try shell("curl -s -o \(file) -w '%{http_code} %{content_type}' 'http://\(agent.address)\(query)'") }
            #expect(fetch.output == "200 application/octet-stream", "\(fetch.output)")
            let raw = try await offPool { try shell("HOME=\(NSTemporaryDirectory()) go tool pprof -raw \(file)") }
            #expect(raw.status == 0, "\(raw.output)")
            // Samples print as "  value: location ids"; pprof merges identical ones (same stack and labels).
            let section = raw.output.components(separatedBy: "Locations").first ?? ""
            let total = section.split(separator: "\n").compactMap { line -> Int? in
                let parts = line.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let value = Int(parts[0]), parts[1].allSatisfy({ $0 == " " || $0.isNumber }) else { return nil }
                return value
            }.reduce(0, +)
            #expect(raw.output.contains("captures/count") && raw.output.contains("trigger:[two]") && total == samples, "\(raw.output)")
            for name in Self.chain { #expect(raw.output.contains(" \(name) \(FixtureProgram.source):"), "\(name) missing from the profile") }
            #expect(raw.output.contains("\(program) \(fixtureID)"), "the fixture's mapping carries its build ID: \(raw.output)")
        }
        // OpenMetrics scrapes link the path series to its latest capture with an exemplar.
        let openMetrics = try await agent.get("/metrics", headers: ["Accept": "application/openmetrics-text; version=1.0.0"]).body
        let series = openMetrics.split(separator: "\n").first { $0.hasPrefix("errno_path_failures_total{") && $0.contains("\(directory)/two") }
        #expect(series?.contains(#"# {capture_id="\#(newest.id)"} 1 "#) == true, "\(series ?? "no series")")
        #expect(!(try await agent.get("/metrics").body.contains("capture_id")), "the text format has no exemplars")
        let triggers = try await agent.get("/api/v1/triggers")
        #expect(triggers.status == 200)
        #expect(triggers.body.contains(#""name":"one""#) && triggers.body.contains(#""captures":3"#), "\(triggers.body)")
        // A binary linked without a build ID: its frames have none, and the capture says so.
        let noid = try FixtureProgram.path("deep_noid")
        try await runFixture(noid, path: "\(directory)/noid")
        let unidentified = try #require(try await agent.waitForCaptures(trigger: "noid").first)
        let document = try await agent.get("/api/v1/captures/\(unidentified.id)").body
        #expect(document.contains(#""modules_without_build_id":["\#(noid)"]"#), "\(document)")
        #expect(document.contains(#""module":"\#(noid)","module_address":"#) && !document.contains(#""module":"\#(noid)","module_address":null"#))
        // A function the compiler inlined is a frame of its own, with its line, before its caller's.
        try await runFixture(try FixtureProgram.path("deep_inlined"), path: "\(directory)/inlined")
        let inlinedCapture = try #require(try await agent.waitForCaptures(trigger: "inlined").first)
        let frames = inlinedCapture.user_stack.prefix(4).map { "\($0.symbol ?? "?") \($0.line ?? 0) \($0.inlined)" }
        let inlinedOpen = try FixtureProgram.line(marked: "inlined open")
        #expect(Array(frames.dropFirst()) == ["open_read_only \(inlinedOpen) true", "open_config \(callerOpen) false", "load_settings \(try FixtureProgram.line(marked: "load_settings' call")) false"], "\(frames)")
        // The culprit: past libc's open64, the program's own innermost function — the inlined one.
        #expect(inlinedCapture.culprit.map { "\($0.symbol ?? "") \($0.line ?? 0)" } == "open_read_only \(inlinedOpen)")
        // In pprof, the inlined function is a line of its caller's location, innermost first.
        let profile = NSTemporaryDirectory() + "errno-pprof-\(UUID().uuidString.prefix(8)).pb.gz"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        _ = try await offPool { try shell("curl -s -o \(profile) 'http://\(agent.address)/api/v1/captures/\(inlinedCapture.id)?format=pprof'") }
        let raw = try await offPool { try shell("HOME=\(NSTemporaryDirectory()) go tool pprof -raw \(profile)") }.output.split(separator: "\n")
        let inlinedLine = try #require(raw.firstIndex { $0.contains(" open_read_only \(FixtureProgram.source):\(inlinedOpen) ") }, "\(raw)")
        #expect(raw[inlinedLine].contains(": 0x") && raw[inlinedLine + 1].trimmingCharacters(in: .whitespaces).hasPrefix("open_config \(FixtureProgram.source):\(callerOpen) "), "\(raw)")
        #expect(try agent.stop() == 0)
    }

    @Test func aReloadAddsAndRemovesTriggersWithoutLosingCounts() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-trig")
        let comm = uniqueComm("ep_trrl_")
        let agent = try AgentProcess(config: "triggers:\n  - {name: a, path: \(directory)/a, stacks: []}\n", arguments: ["--web.enable-lifecycle"])
        try await offPool { try runLoad(comm: comm, paths: [PathPlan("openat", 3, "\(directory)/a"), PathPlan("openat", 2, "\(directory)/b")]) }
        try "triggers:\n  - {name: a, path: \(directory)/a, stacks: []}\n  - {name: b, path: \(directory)/b, stacks: []}\n"
            .write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        #expect(try await agent.send("POST", "/-/reload").status == 200)
        try await offPool { try runLoad(comm: comm, paths: [PathPlan("openat", 3, "\(directory)/a"), PathPlan("openat", 2, "\(directory)/b")]) }
        var scrape = try await agent.scrape()
        #expect(scrape.value("errno_trigger_matches_total", ["trigger": "a"]) == 6)
        #expect(scrape.value("errno_trigger_matches_total", ["trigger": "b"]) == 2)
        try "triggers:\n  - {name: b, path: \(directory)/b, stacks: []}\n".write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        #expect(try await agent.send("POST", "/-/reload").status == 200)
        try await offPool { try runLoad(comm: comm, paths: [PathPlan("openat", 3, "\(directory)/a"), PathPlan("openat", 1, "\(directory)/b")]) }
        scrape = try await agent.scrape()
        #expect(scrape.value("errno_trigger_matches_total", ["trigger": "a"]) == nil)
        #expect(scrape.value("errno_trigger_matches_total", ["trigger": "b"]) == 3)
        #expect(try agent.stop() == 0)
    }

    @Test func theLandingPageShowsTheLatestCaptureInARealBrowser() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-trig")
        let agent = try AgentProcess(config: "triggers:\n  - {name: page, path: \(directory)/page}\n")
        try await runFixture(try FixtureProgram.path("deep_nofp"), path: "\(directory)/page")
        _ = try await agent.waitForCaptures(trigger: "page")
        let profile = NSTemporaryDirectory() + "errno-chromium-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let url = "http://\(agent.address)/"
        let page = try await offPool {
            try shell("timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir=\(profile) --dump-dom \(url) 2>/dev/null")
        }
        #expect(page.status == 0, "chromium failed: \(page.output.suffix(2000))")
        for expected in ["Recent captures", "page", "\(directory)/page", "ENOENT"] + Self.chain {
            #expect(page.output.contains(expected), "the rendered page lacks \(expected)")
        }
        // The culprit comes first under the capture's title: the program's own innermost function, with its line.
        let culprit = try #require(page.output.range(of: #"<p class="culprit">Culprit: <code>open_config \#(FixtureProgram.source):\#(try FixtureProgram.line(marked: "open_config's open"))</code></p>"#), "\(page.output)")
        #expect(page.output.range(of: "<ol class=\"stack\">")!.lowerBound > culprit.upperBound)
        // The trigger's flame graph, drawn by the agent: each caller above the function it called.
        var depth: [String: Double] = [:]
        for match in page.output.matches(of: #/<g class="frame"><title>([a-z_]+)[^<]*? — \d+ samples.*?<rect x="[\d.]+" y="([\d.]+)"/#) {
            depth[String(match.1)] = Double(match.2)
        }
        let order = ["main", "start_service", "load_settings", "open_config"].map { depth[$0] }
        #expect(order.allSatisfy { $0 != nil } && order.map { $0 ?? 0 } == order.map { $0 ?? 0 }.sorted(), "\(depth)")
        // A screenshot at 1280×800, to look at.
        let screenshot = NSTemporaryDirectory() + "errno-page-\(UUID().uuidString.prefix(8)).png"
        let shot = try await offPool {
            try shell("timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=\(profile) --window-size=1280,800 --screenshot=\(screenshot) \(url) 2>&1")
        }
        #expect(shot.status == 0 && ((try? FileManager.default.attributesOfItem(atPath: screenshot)[.size] as? Int) ?? 0) > 10_000, "\(shot.output.suffix(500))")
        print("landing page screenshot: \(screenshot)")
        #expect(try agent.stop() == 0)
    }
}
