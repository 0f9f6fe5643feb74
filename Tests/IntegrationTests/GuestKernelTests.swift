import FixtureSupport
import Foundation
import Testing

/// What the agent says about the kernel it runs on, checked against the kernel itself: on this
/// machine's kernel and, through scripts/kernel-guest-tests.sh, in Debian 12's 6.1 kernel.
@Suite(.timeLimit(.minutes(5)))
struct GuestKernelTests {
    @Test func theFeatureGaugesAndLogLinesMatchTheKernel() async throws {
        try requireRoot()
        let agent = try AgentProcess(config: "filters:\n  comms: [\(uniqueComm("feat_"))]\n")
        let scrape = try await agent.scrape()
        let hasIterator = try btfHas(function: "bpf_iter_task_vma_new")
        #expect(scrape.value("errno_exporter_kernel_feature", ["feature": "vma_iterator"]) == (hasIterator ? 1 : 0))
        #expect(scrape.value("errno_exporter_kernel_feature", ["feature": "stack_captures"]) == (try btfHas(helper: "task_pt_regs") ? 1 : 0))
        #expect(scrape.value("errno_exporter_kernel_feature", ["feature": "async_stacks"]) == (try btfHas(helper: "get_attach_cookie") ? 1 : 0))
        let missingLine = agent.stderr.text.contains("msg=\"kernel feature missing\" feature=vma_iterator since=\"Linux 6.7\"")
        #expect(missingLine == !hasIterator, "one log line per missing feature, naming the kernel that brings it")
        #expect(try agent.stop() == 0)
    }

    @Test func configCheckLoadsTheProgramsAndListsTheFeatures() throws {
        try requireRoot()
        let config = NSTemporaryDirectory() + "errno-check-\(UUID().uuidString.prefix(8)).yml"
        defer { try? FileManager.default.removeItem(atPath: config) }
        try "triggers:\n  - name: t\n    path: /nonexistent/check\n".write(toFile: config, atomically: true, encoding: .utf8)
        let result = try shell("\(Products.agent) --config.check --config.file=\(config) 2>/dev/null")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("the BPF programs load and attach"))
        let hasIterator = try btfHas(function: "bpf_iter_task_vma_new")
        #expect(result.output.contains("kernel feature vma_iterator: \(hasIterator ? "yes" : "no (Linux 6.7)")"), "\(result.output)")
    }

    /// The fallback of kernels before 6.7, on any kernel: with the VMA iterator switched off the
    /// mappings come from /proc while the process lives, and the stack is as complete.
    @Test func withoutTheVMAIteratorALivingProcessIsSymbolizedFromProc() async throws {
        try requireRoot()
        let directory = uniqueDirectory("errno-novma")
        let agent = try AgentProcess(
            config: "triggers:\n  - {name: novma, path_prefix: \(directory)/}\n", arguments: ["--kernel.disable-feature=vma_iterator"])
        try await runFixture(try FixtureProgram.path("deep_nofp"), path: "\(directory)/x", linger: true)
        let capture = try #require(try await agent.waitForCaptures(trigger: "novma").first)
        #expect(Array(capture.symbols.dropFirst().prefix(4)) == TriggerTests.chain, "\(capture.symbols)")
        #expect(capture.unwind.end == "outermost")
        let scrape = try await agent.scrape()
        #expect(scrape.value("errno_exporter_kernel_feature", ["feature": "vma_iterator"]) == 0)
        #expect(scrape.value("errno_exporter_captures_without_maps_total") == 0)
        #expect(agent.stderr.text.contains("msg=\"kernel feature missing\" feature=vma_iterator"))
        #expect(try agent.stop() == 0)
    }
}
