import Foundation

/// Query strings of flame-graph links (zoom, search): each value percent-encoded, so a frame name
/// (which a traced process controls) stays one parameter.
enum FlameGraphLinks {
    static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    /// `key=value&…` for the parameters that have a non-empty value, in key order.
    static func query(_ parameters: [String: String?]) -> String {
        parameters.compactMap { key, value -> String? in
            guard let value, !value.isEmpty else { return nil }
            return key + "=" + (value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")
        }.sorted().joined(separator: "&")
    }
}
