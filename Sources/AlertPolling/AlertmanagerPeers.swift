import AsyncHTTPClient
import Captures
import ErrnoConfig
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import SystemSupport

/// The HTTP side of polling: one client for the configured TLS, and one bounded request per peer for
/// its firing `errno_exporter_trigger` alerts (API v2), with the configured credentials.
final class AlertmanagerPeers: Sendable {
    let settings: Config.Alerts
    private let client: HTTPClient

    init(_ settings: Config.Alerts) throws {
        self.settings = settings
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = settings.tls.caFile { tls.trustRoots = .file(ca) }
        if let cert = settings.tls.certFile, let key = settings.tls.keyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        if settings.tls.insecureSkipVerify { tls.certificateVerification = .none }
        let timeout = TimeAmount.seconds(Int64(settings.timeoutSeconds))
        client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: .init(connect: timeout, read: timeout), decompression: .disabled))
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// Secrets kept in files are read at each poll (at most this many bytes), as Prometheus does.
    static let maxSecretBytes = 64 << 10

    /// The firing alerts `peer` lists, or the `PollFailure` saying why not.
    func alerts(from peer: String) async -> Result<[FiringAlert], PollFailure> {
        var request = HTTPClientRequest(url: Self.alertsURL(peer, matchers: settings.matchers))
        request.headers.add(name: "Accept", value: "application/json")
        do {
            if let authorization = try authorization() { request.headers.add(name: "Authorization", value: authorization) }
        } catch {
            return .failure(error)
        }
        let body: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(settings.timeoutSeconds)))
            guard response.status == .ok else {
                // Alertmanager says why (a filter it cannot parse, say): the first line of its answer.
                let reason = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
                let line = reason.split(whereSeparator: \.isNewline).first.map { ": " + $0.prefix(300) } ?? ""
                return .failure(.unreachable("HTTP \(response.status.code) \(response.status.reasonPhrase)\(line)"))
            }
            body = try await response.body.collect(upTo: AlertmanagerAlerts.maxBytes)
        } catch is NIOTooManyBytesError {
            return .failure(.refused("the answer is over \(AlertmanagerAlerts.maxBytes) bytes"))
        } catch {
            return .failure(.unreachable("\(error)"))
        }
        do {
            return .success(try AlertmanagerAlerts.decode(body.readableBytesView))
        } catch {
            return .failure(.refused(error.description))
        }
    }

    /// `GET {peer}/api/v2/alerts` for active, unsilenced, uninhibited alerts carrying the trigger label
    /// and satisfying `matchers`.
    static func alertsURL(_ peer: String, matchers: [AlertMatcher]) -> String {
        let filters = ["\(FiringAlert.triggerLabel)=~\".+\""] + matchers.map(\.description)
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let query = ["active=true", "silenced=false", "inhibited=false", "unprocessed=false"]
            + filters.map { "filter=" + ($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "") }
        let base = peer.hasSuffix("/") ? String(peer.dropLast()) : peer
        return base + "/api/v2/alerts?" + query.joined(separator: "&")
    }

    /// The `Authorization` header the credentials make, reading secret files now.
    func authorization() throws(PollFailure) -> String? {
        func secret(_ secret: Config.Alerts.Secret) throws(PollFailure) -> String {
            switch secret {
            case .inline(let text): return text
            case .file(let path):
                guard let text = SmallFile.read(path, limit: Self.maxSecretBytes) else { throw .unreachable("cannot read \(path)") }
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        switch settings.credentials {
        case nil: return nil
        case .basic(let username, let password):
            return "Basic " + Data("\(username):\(try secret(password))".utf8).base64EncodedString()
        case .authorization(let type, let credentials):
            return "\(type) \(try secret(credentials))"
        }
    }
}

/// How one poll of one peer went (the `outcome` label of `errno_exporter_alertmanager_polls_total`).
enum PollOutcome: String, CaseIterable {
    case success
    /// Unreachable, too slow, or not 200.
    case error
    /// An answer too large, malformed or outsized.
    case refused
}

/// Why a peer gave no alerts: it could not be asked or did not answer 200 (`unreachable`), or its
/// answer was refused (`refused`: too large, malformed, outsized).
enum PollFailure: Error, CustomStringConvertible {
    case unreachable(String)
    case refused(String)

    var outcome: PollOutcome {
        switch self {
        case .unreachable: .error
        case .refused: .refused
        }
    }

    var description: String {
        switch self {
        case .unreachable(let text), .refused(let text): text
        }
    }
}
