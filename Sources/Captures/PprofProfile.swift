import CPprof
import Foundation
import Stacks

/// Captures as a pprof profile (`perftools.profiles.Profile`, encoded by protobuf-c): one sample of
/// value 1 per capture, its locations leaf first — kernel frames, then the user stack, then (for an
/// async request) the stack that submitted it — labelled with trigger, comm, syscall, path, errno
/// and pid. `go tool pprof` reads it (gzipped or not).
public enum PprofProfile {
    public static func encode(_ captures: [Capture], time: Date = Date()) -> [UInt8]? {
        var table = Tables()
        var samples: [(locations: [UInt64], labels: [(Int64, Int64)])] = []
        for capture in captures {
            let frames = capture.kernelStack + capture.userStack + (capture.submittedBy?.userStack ?? [])
            let locations = frames.map { table.location($0) }
            var labels = [("trigger", capture.trigger), ("comm", capture.comm), ("syscall", capture.syscall), ("path", capture.path),
                          ("pid", String(capture.pid))]
            if let errno = capture.errno { labels.append(("errno", errno)) }
            samples.append((locations, labels.map { (table.string($0.0), table.string($0.1)) }))
        }
        let sampleType = table.string("captures"), sampleUnit = table.string("count")
        let strings = table.strings.map { strdup($0) }
        defer { strings.forEach { free($0) } }
        let pointers = strings.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer { stringBuffer -> [UInt8]? in
            var encodedSamples: [cpprof_sample] = []
            let keys = samples.map { $0.labels.map(\.0) }, values = samples.map { $0.labels.map(\.1) }
            return withArrays(samples.map(\.locations)) { locationPointers in
                withArrays(keys) { keyPointers in
                    withArrays(values) { valuePointers in
                        for index in samples.indices {
                            encodedSamples.append(cpprof_sample(
                                location_ids: locationPointers[index], location_count: samples[index].locations.count, value: 1,
                                label_keys: keyPointers[index], label_values: valuePointers[index], label_count: keys[index].count))
                        }
                        var profile = cpprof_profile()
                        var size = 0
                        let bytes: UnsafeMutablePointer<UInt8>? = table.mappings.withUnsafeBufferPointer { mappings in
                            table.functions.withUnsafeBufferPointer { functions in
                                table.locations.withUnsafeBufferPointer { locations in
                                    encodedSamples.withUnsafeBufferPointer { samples in
                                        profile.strings = UnsafePointer(stringBuffer.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: UnsafePointer<CChar>?.self) })
                                        profile.string_count = stringBuffer.count
                                        profile.mappings = mappings.baseAddress
                                        profile.mapping_count = mappings.count
                                        profile.functions = functions.baseAddress
                                        profile.function_count = functions.count
                                        profile.locations = locations.baseAddress
                                        profile.location_count = locations.count
                                        profile.samples = samples.baseAddress
                                        profile.sample_count = samples.count
                                        profile.sample_type = sampleType
                                        profile.sample_unit = sampleUnit
                                        profile.time_nanos = Int64(time.timeIntervalSince1970 * 1e9)
                                        return cpprof_encode(&profile, &size)
                                    }
                                }
                            }
                        }
                        guard let bytes else { return nil }
                        defer { free(bytes) }
                        return Array(UnsafeBufferPointer(start: bytes, count: size))
                    }
                }
            }
        }
    }

    /// Runs `body` with a stable base pointer for each of `arrays`.
    private static func withArrays<Element, Result>(_ arrays: [[Element]], _ body: ([UnsafePointer<Element>?]) -> Result) -> Result {
        let buffers = arrays.map { array -> UnsafeMutableBufferPointer<Element> in
            let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: max(array.count, 1))
            _ = buffer.initialize(from: array)
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        return body(buffers.map { UnsafePointer($0.baseAddress) })
    }

    /// The profile's interned strings, mappings, functions and locations.
    private struct Tables {
        var strings = [""]
        var stringIndex: [String: Int64] = ["": 0]
        var mappings: [cpprof_mapping] = []
        var mappingIndex: [String: UInt64] = [:]
        var functions: [cpprof_function] = []
        var functionIndex: [String: UInt64] = [:]
        var locations: [cpprof_location] = []
        var locationIndex: [String: UInt64] = [:]

        mutating func string(_ text: String) -> Int64 {
            if let index = stringIndex[text] { return index }
            strings.append(text)
            stringIndex[text] = Int64(strings.count - 1)
            return Int64(strings.count - 1)
        }

        mutating func location(_ frame: StackFrame) -> UInt64 {
            let module = frame.module ?? "[unknown]"
            let key = "\(module)\u{0}\(frame.buildID ?? "")\u{0}\(frame.address)\u{0}\(frame.symbol ?? "")"
            if let id = locationIndex[key] { return id }
            // One mapping per module and build ID: a file replaced between captures is another.
            let mappingKey = "\(module)\u{0}\(frame.buildID ?? "")"
            var mappingID = mappingIndex[mappingKey]
            if mappingID == nil {
                mappings.append(cpprof_mapping(id: UInt64(mappings.count + 1), filename: string(module), build_id: string(frame.buildID ?? "")))
                mappingID = UInt64(mappings.count)
                mappingIndex[mappingKey] = mappingID
            }
            let name = frame.symbol ?? frame.displayName
            let file = frame.file ?? module
            let functionKey = "\(name)\u{0}\(file)"
            var functionID = functionIndex[functionKey]
            if functionID == nil {
                functions.append(cpprof_function(id: UInt64(functions.count + 1), name: string(name), system_name: string(name), filename: string(file)))
                functionID = UInt64(functions.count)
                functionIndex[functionKey] = functionID
            }
            locations.append(cpprof_location(
                id: UInt64(locations.count + 1), mapping_id: mappingID!, address: frame.address, function_id: functionID!, line: Int64(frame.line ?? 0)))
            locationIndex[key] = UInt64(locations.count)
            return UInt64(locations.count)
        }
    }
}
