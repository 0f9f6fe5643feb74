import ErrnoConfig
import Foundation
import Glibc

/// Which alerts polled from Alertmanager are this node's: those that satisfy the configured matchers
/// and whose `instance` label names this node — or that have no `instance` label (fleet-wide), unless
/// that is turned off.
public struct AlertIdentity: Sendable, Equatable {
    /// `instance` values that mean this node.
    public let instances: Set<String>
    /// Whether alerts without an `instance` label are this node's too.
    public let fleetWide: Bool
    /// What every alert must also satisfy.
    public let matchers: [AlertMatcher]

    public init(instances: Set<String>, fleetWide: Bool, matchers: [AlertMatcher]) {
        self.instances = instances
        self.fleetWide = fleetWide
        self.matchers = matchers
    }

    /// The identity `alerts` configures; without `instances`, derived from the agent's bound listen
    /// addresses (see `derivedInstances`).
    public init(_ alerts: Config.Alerts, boundAddresses: [String]) {
        let instances = alerts.instances.isEmpty
            ? Self.derivedInstances(boundAddresses: boundAddresses, hostname: Self.hostname(), interfaceAddresses: Self.interfaceAddresses())
            : Set(alerts.instances)
        self.init(instances: instances, fleetWide: alerts.fleetWide, matchers: alerts.matchers)
    }

    /// Whether an alert with `labels` is meant for this node.
    public func isForThisNode(_ labels: [String: String]) -> Bool {
        guard matchers.allSatisfy({ $0.matches(labels) }) else { return false }
        guard let instance = labels["instance"], !instance.isEmpty else { return fleetWide }
        return instances.contains(instance)
    }

    /// How Prometheus may name this node in `instance`: each bound address (`host:port`, IPv6 in
    /// brackets); for a wildcard address every interface address with its port; `localhost:port` for
    /// loopback and wildcard addresses; the host name, alone and with each port.
    public static func derivedInstances(boundAddresses: [String], hostname: String, interfaceAddresses: [String]) -> Set<String> {
        var instances: Set<String> = hostname.isEmpty ? [] : [hostname]
        for address in boundAddresses {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { continue }
            var host = String(address[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let wildcard = host == "0.0.0.0" || host == "::"
            let hosts = wildcard ? interfaceAddresses + ["localhost"] : [host] + (["127.0.0.1", "::1"].contains(host) ? ["localhost"] : [])
            for host in hosts { instances.insert(host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)") }
            if !hostname.isEmpty { instances.insert("\(hostname):\(port)") }
        }
        return instances
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Every IPv4 and IPv6 address of the machine's interfaces, as text.
    static func interfaceAddresses() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var addresses: [String] = []
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard let address = entry.pointee.ifa_addr else { continue }
            let family = Int32(address.pointee.sa_family)
            guard family == AF_INET || family == AF_INET6 else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
            guard getnameinfo(address, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // Link-local IPv6 addresses carry a zone (fe80::1%eth0); Prometheus targets do not.
            if !text.contains("%") { addresses.append(text) }
        }
        return addresses
    }
}
