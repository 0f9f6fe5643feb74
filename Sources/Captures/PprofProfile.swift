import CPprof
import Foundation
import Stacks

/// Captures as a pprof profile (`perftools.profiles.Profile`, encoded by protobuf-c): one sample of
/// value 1 per capture, its locations leaf first — kernel frames, then the user stack, then (for an
/// async request) the stack that submitted it — labelled with trigger, comm, syscall, path, errno
/// and pid. Functions inlined at an address are lines of their caller's location, innermost first,
/// as profile.proto has them. `go tool pprof` reads it (gzipped or not).
public enum PprofProfile {
    public static func encode(_ captures: [Capture], time: Date = Date()) -> [UInt8]? {
        var table = Tables()
        var samples: [(locations: [UInt64], labels: [(Int64, Int64)])] = []
        for capture in captures {
            let frames = capture.kernelStack + capture.userStack + (capture.submittedBy?.userStack ?? [])
            let locations = locationGroups(frames).map { table.location($0) }
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
                        let bytes: UnsafeMutablePointer<UInt8>? = withArrays(table.locationFunctions) { functionIDs in
                          withArrays(table.locationLines) { lineNumbers in
                            let cLocations = table.locations.indices.map { index in
                                cpprof_location(
                                    id: table.locations[index].id, mapping_id: table.locations[index].mapping, address: table.locations[index].address,
                                    function_ids: functionIDs[index], lines: lineNumbers[index], line_count: table.locationLines[index].count)
                            }
                            return table.mappings.withUnsafeBufferPointer { mappings in
                            table.functions.withUnsafeBufferPointer { functions in
                                cLocations.withUnsafeBufferPointer { locations in
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

    /// Frames as pprof locations: the functions inlined at an address (`inlined` frames, innermost
    /// first) with the frame they were inlined into.
    static func locationGroups(_ frames: [StackFrame]) -> [[StackFrame]] {
        var groups: [[StackFrame]] = []
        var pending: [StackFrame] = []
        for frame in frames {
            pending.append(frame)
            if !frame.inlined {
                groups.append(pending)
                pending = []
            }
        }
        if !pending.isEmpty { groups.append(pending) }  // inlined frames whose caller was cut off
        return groups
    }

    /// The profile's interned strings, mappings, functions and locations.
    private struct Tables {
        var strings = [""]
        var stringIndex: [String: Int64] = ["": 0]
        var mappings: [cpprof_mapping] = []
        var mappingIndex: [String: UInt64] = [:]
        var functions: [cpprof_function] = []
        var functionIndex: [String: UInt64] = [:]
        var locations: [(id: UInt64, mapping: UInt64, address: UInt64)] = []
        /// Each location's lines: function ids and line numbers, inlined functions first.
        var locationFunctions: [[UInt64]] = []
        var locationLines: [[Int64]] = []
        var locationIndex: [String: UInt64] = [:]

        mutating func string(_ text: String) -> Int64 {
            if let index = stringIndex[text] { return index }
            strings.append(text)
            stringIndex[text] = Int64(strings.count - 1)
            return Int64(strings.count - 1)
        }

        /// The location of a frame and the functions inlined at its address (`group`, innermost first).
        mutating func location(_ group: [StackFrame]) -> UInt64 {
            let frame = group[group.count - 1]
            let module = frame.module ?? "[unknown]"
            let key = "\(module)\u{0}\(frame.buildID ?? "")\u{0}\(frame.address)\u{0}" + group.map { $0.symbol ?? "" }.joined(separator: "\u{0}")
            if let id = locationIndex[key] { return id }
            // One mapping per module and build ID: a file replaced between captures is another.
            let mappingKey = "\(module)\u{0}\(frame.buildID ?? "")"
            var mappingID = mappingIndex[mappingKey]
            if mappingID == nil {
                mappings.append(cpprof_mapping(id: UInt64(mappings.count + 1), filename: string(module), build_id: string(frame.buildID ?? "")))
                mappingID = UInt64(mappings.count)
                mappingIndex[mappingKey] = mappingID
            }
            locations.append((UInt64(locations.count + 1), mappingID!, frame.address))
            locationFunctions.append(group.map { function($0, module: module) })
            locationLines.append(group.map { Int64($0.line ?? 0) })
            locationIndex[key] = UInt64(locations.count)
            return UInt64(locations.count)
        }

        mutating func function(_ frame: StackFrame, module: String) -> UInt64 {
            let name = frame.symbol ?? frame.displayName
            let file = frame.file ?? module
            let functionKey = "\(name)\u{0}\(file)"
            if let known = functionIndex[functionKey] { return known }
            functions.append(cpprof_function(id: UInt64(functions.count + 1), name: string(name), system_name: string(name), filename: string(file)))
            functionIndex[functionKey] = UInt64(functions.count)
            return UInt64(functions.count)
        }
    }
}
