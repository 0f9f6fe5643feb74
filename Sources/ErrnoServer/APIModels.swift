import Captures
import ErrnoConfig
import ErrnoKernel
import Foundation
import Stacks
import SystemSupport

/// The JSON shapes of the API, apart from the domain types they show: one place that fixes the
/// field names users' scripts rely on.
enum APIModels {
    /// A stack frame: `{address, symbol, offset, module, module_address, build_id, file?, line?, inlined, method,
    /// named_by}`.
    struct Frame: Encodable {
        let frame: StackFrame

        enum CodingKeys: String, CodingKey {
            case address, symbol, offset, module, moduleAddress = "module_address", buildID = "build_id", file, line, inlined, method
            case namedBy = "named_by"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(StackFrame.hex(frame.address), forKey: .address)
            try container.encode(frame.symbol, forKey: .symbol)
            try container.encode(frame.offset, forKey: .offset)
            try container.encode(frame.module, forKey: .module)
            try container.encode(frame.moduleAddress.map(StackFrame.hex), forKey: .moduleAddress)
            try container.encode(frame.buildID, forKey: .buildID)
            try container.encodeIfPresent(frame.file, forKey: .file)
            try container.encodeIfPresent(frame.line, forKey: .line)
            try container.encode(frame.inlined, forKey: .inlined)
            try container.encode(frame.method.rawValue, forKey: .method)
            try container.encode(frame.namedBy?.rawValue, forKey: .namedBy)
        }
    }

    /// How unwinding and naming went: `{stack_bytes, end, process_exited, without_maps,
    /// unresolved_frames, modules_without_build_id}`.
    struct Unwind: Encodable {
        let summary: Capture.UnwindSummary
        /// The stack's modules that are ELF files without a build ID (no debuginfod lookup for them).
        let modulesWithoutBuildID: [String]

        enum CodingKeys: String, CodingKey {
            case stackBytes = "stack_bytes", end, processExited = "process_exited", withoutMaps = "without_maps"
            case unresolvedFrames = "unresolved_frames"
            case modulesWithoutBuildID = "modules_without_build_id"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(summary.stackBytes, forKey: .stackBytes)
            try container.encodeIfPresent(summary.end?.rawValue, forKey: .end)
            try container.encode(summary.processExited, forKey: .processExited)
            try container.encode(summary.withoutMaps, forKey: .withoutMaps)
            try container.encode(summary.unresolvedFrames, forKey: .unresolvedFrames)
            try container.encode(modulesWithoutBuildID, forKey: .modulesWithoutBuildID)
        }
    }

    /// A capture (see CONTRACT.md): innermost frame first.
    struct CaptureJSON: Encodable {
        let capture: Capture

        enum CodingKeys: String, CodingKey {
            case id, trigger, triggers, time, pid, tid, comm, syscall, path, errno, result, cgroup
            case userStack = "user_stack", kernelStack = "kernel_stack", unwind, submittedBy = "submitted_by", culprit
        }

        enum SubmissionKeys: String, CodingKey {
            case tid, time, userStack = "user_stack", unwind
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(String(capture.id), forKey: .id)
            try container.encode(capture.trigger, forKey: .trigger)
            try container.encode(capture.triggers, forKey: .triggers)
            try container.encode(RFC3339.format(capture.time), forKey: .time)
            try container.encode(capture.pid, forKey: .pid)
            try container.encode(capture.tid, forKey: .tid)
            try container.encode(capture.comm, forKey: .comm)
            try container.encode(capture.syscall, forKey: .syscall)
            try container.encode(capture.path, forKey: .path)
            try container.encode(capture.errno, forKey: .errno)
            try container.encode(capture.result, forKey: .result)
            try container.encode(capture.cgroup, forKey: .cgroup)
            // The application's own innermost frame (else the submitting stack's): what to read first.
            try container.encode((capture.culprit ?? capture.submittedBy.flatMap { Capture.culprit(in: $0.userStack) }).map(Frame.init), forKey: .culprit)
            try container.encode(capture.userStack.map(Frame.init), forKey: .userStack)
            try container.encode(capture.kernelStack.map(Frame.init), forKey: .kernelStack)
            try container.encode(Unwind(summary: capture.unwind, modulesWithoutBuildID: Capture.modulesWithoutBuildID(capture.userStack)), forKey: .unwind)
            if let submission = capture.submittedBy {
                var nested = container.nestedContainer(keyedBy: SubmissionKeys.self, forKey: .submittedBy)
                try nested.encode(submission.tid, forKey: .tid)
                try nested.encode(RFC3339.format(submission.time), forKey: .time)
                try nested.encode(submission.userStack.map(Frame.init), forKey: .userStack)
                try nested.encode(Unwind(summary: submission.unwind, modulesWithoutBuildID: Capture.modulesWithoutBuildID(submission.userStack)), forKey: .unwind)
            } else {
                try container.encodeNil(forKey: .submittedBy)
            }
        }
    }

    /// A trigger, its arming and counts, as `/api/v1/triggers` lists it.
    struct TriggerJSON: Encodable {
        let status: TriggerStatus

        enum CodingKeys: String, CodingKey {
            case name, paths, pathPrefixes = "path_prefixes", comm, result, stacks, maxPerMinute = "max_per_minute", arming = "armed_mode"
            case armed, armedUntil = "armed_until", armedBy = "armed_by", armedVia = "armed_via", armedFor = "armed_for", armForSeconds = "arm_for_seconds", notifications
            case matches, captures, rateLimited = "rate_limited", ringBufferFull = "ring_buffer_full"
            case ephemeral, expires, createdBy = "created_by", pid
        }

        enum ArmedForKeys: String, CodingKey {
            case comm, pid
        }

        func encode(to encoder: any Encoder) throws {
            let trigger = status.config
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(trigger.name, forKey: .name)
            try container.encode(trigger.paths, forKey: .paths)
            try container.encode(trigger.prefixes, forKey: .pathPrefixes)
            try container.encodeIfPresent(trigger.comm, forKey: .comm)
            try container.encode(trigger.result.rawValue, forKey: .result)
            try container.encode(status.stackNames, forKey: .stacks)
            try container.encode(trigger.maxPerMinute, forKey: .maxPerMinute)
            try container.encode(trigger.armed.rawValue, forKey: .arming)
            try container.encode(status.armed, forKey: .armed)
            let arming = trigger.armed == .always ? nil : status.arming
            try container.encodeIfPresent(status.armedUntil, forKey: .armedUntil)
            try container.encodeIfPresent(status.armedBy, forKey: .armedBy)
            try container.encodeIfPresent(arming.map { "\($0.source)" }, forKey: .armedVia)
            if let window = arming?.window, window.comm != nil || window.pid != nil {
                var nested = container.nestedContainer(keyedBy: ArmedForKeys.self, forKey: .armedFor)
                try nested.encodeIfPresent(window.comm, forKey: .comm)
                try nested.encodeIfPresent(window.pid, forKey: .pid)
            }
            try container.encode(trigger.armForSeconds, forKey: .armForSeconds)
            try container.encode(status.notifications, forKey: .notifications)
            try container.encode(status.counts.matches, forKey: .matches)
            try container.encode(status.counts.captures, forKey: .captures)
            try container.encode(status.counts.rateLimited, forKey: .rateLimited)
            try container.encode(status.counts.ringBufferFull, forKey: .ringBufferFull)
            try container.encode(status.ephemeral != nil, forKey: .ephemeral)
            if let ephemeral = status.ephemeral {
                try container.encode(RFC3339.format(ephemeral.until), forKey: .expires)
                try container.encode(ephemeral.createdBy, forKey: .createdBy)
                try container.encodeIfPresent(ephemeral.request.pid, forKey: .pid)
            }
        }
    }

    /// What one webhook notification did: `{armed: [{trigger, until, alert}], always_armed, ignored}`.
    struct OutcomeJSON: Encodable {
        let outcome: ArmingOutcome

        enum CodingKeys: String, CodingKey {
            case armed, alwaysArmed = "always_armed", ignored
        }

        struct Armed: Encodable {
            let trigger: String
            let until: String
            let alert: String
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(outcome.armed.map { Armed(trigger: $0.trigger, until: RFC3339.format($0.until), alert: $0.alert) }, forKey: .armed)
            try container.encode(outcome.alwaysArmed, forKey: .alwaysArmed)
            try container.encode(outcome.ignored, forKey: .ignored)
        }
    }
}

extension TriggerStatus {
    /// The stacks the trigger captures, in a fixed order (user, kernel).
    var stackNames: [String] {
        Config.Trigger.Stack.allCases.filter { config.stacks.contains($0) }.map(\.rawValue)
    }

    /// "Alertname (fingerprint)" of the alert that armed an `on_alert` trigger.
    var armedBy: String? {
        guard config.armed == .onAlert, let arming else { return nil }
        return arming.alert + (arming.fingerprint.map { " (\($0))" } ?? "")
    }

    /// The arming's deadline, for an `on_alert` trigger.
    var armedUntil: String? {
        guard config.armed == .onAlert else { return nil }
        return arming.map { RFC3339.format($0.until) }
    }
}
