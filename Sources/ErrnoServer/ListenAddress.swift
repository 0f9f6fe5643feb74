/// A `--web.listen-address` value: `host:port`, `:port` (every IPv4 interface) or `[v6]:port`.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(parsing text: String) throws(ListenAddressError) {
        guard let colon = text.lastIndex(of: ":") else { throw ListenAddressError(text: text, reason: "missing \":port\"") }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ListenAddressError(text: text, reason: "the port must be a number from 0 to 65535")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw ListenAddressError(text: text, reason: "write IPv6 hosts in brackets, e.g. [::1]:9717")
        }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A listen address that cannot be parsed.
public struct ListenAddressError: Error, CustomStringConvertible {
    public let text: String
    public let reason: String

    public var description: String { "invalid listen address \"\(text)\": \(reason)" }
}
