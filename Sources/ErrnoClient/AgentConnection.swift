import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// How the command-line tools reach a running agent, with the options a Prometheus client has: its
/// URL, a CA to trust, a client certificate, basic auth (password from a file), or no verification.
public struct AgentConnectionOptions: Sendable {
    public var url: String
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var insecureSkipVerify = false
    public var username: String?
    public var passwordFile: String?

    public static let defaultURL = "http://127.0.0.1:9717"

    public init(url: String = Self.defaultURL) {
        self.url = url
    }
}

/// An error from the agent or on the way to it, as the tools print it.
public struct AgentRequestError: Error, CustomStringConvertible {
    public let description: String
}

/// One HTTP client to one agent: JSON requests and answers in Prometheus' API envelope.
public final class AgentConnection: Sendable {
    let options: AgentConnectionOptions
    private let client: HTTPClient
    private let authorization: String?
    /// Answers larger than this are refused.
    static let maxAnswerBytes = 16 << 20

    public init(_ options: AgentConnectionOptions) throws {
        self.options = options
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = options.caFile { tls.trustRoots = .file(ca) }
        if let cert = options.certFile, let key = options.keyFile {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        if options.insecureSkipVerify { tls.certificateVerification = .none }
        client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(30))))
        if let username = options.username {
            var password = ""
            if let file = options.passwordFile {
                password = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .newlines)
            }
            authorization = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        } else {
            authorization = nil
        }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// Sends `method path` (with a JSON `body`); returns the status and the answer's bytes.
    public func send(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> (status: Int, body: Data) {
        let base = options.url.hasSuffix("/") ? String(options.url.dropLast()) : options.url
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: Self.maxAnswerBytes)
            return (Int(response.status.code), Data(bytes.readableBytesView))
        } catch {
            throw AgentRequestError(description: "\(method) \(base)\(path): \(error)")
        }
    }

    /// Sends `GET path` and hands each line of the streamed answer to `line` as it arrives, until
    /// the agent ends the answer or the task is cancelled. A non-2xx answer becomes an
    /// `AgentRequestError` carrying the agent's reason. Lines longer than 1 MiB are refused.
    public func streamLines(_ path: String, line: (String) async throws -> Void) async throws {
        let base = options.url.hasSuffix("/") ? String(options.url.dropLast()) : options.url
        var request = HTTPClientRequest(url: base + path)
        request.headers.add(name: "Accept", value: "application/x-ndjson")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .distantFuture)
        } catch {
            throw AgentRequestError(description: "GET \(base)\(path): \(error)")
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let bytes = (try? await response.body.collect(upTo: 1 << 16)).map { Data($0.readableBytesView) } ?? Data()
            let reason = (try? JSONDecoder().decode(ErrorAnswer.self, from: bytes))?.error ?? String(decoding: bytes.prefix(300), as: UTF8.self)
            throw AgentRequestError(description: "GET \(path): HTTP \(response.status.code): \(reason)")
        }
        var pending: [UInt8] = []
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: 0x0A) {
                let text = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                try await line(text)
            }
            guard pending.count <= Self.maxLineBytes else { throw AgentRequestError(description: "GET \(path): a line over \(Self.maxLineBytes) bytes") }
        }
    }

    /// The longest line `streamLines` takes.
    static let maxLineBytes = 1 << 20

    /// `data` of a successful answer decoded as `T`; an error answer becomes an `AgentRequestError`
    /// carrying the agent's reason.
    public func call<T: Decodable>(_ method: HTTPMethod, _ path: String, body: Data? = nil, as type: T.Type) async throws -> T {
        let (status, bytes) = try await send(method, path, body: body)
        guard (200..<300).contains(status) else {
            let reason = (try? JSONDecoder().decode(ErrorAnswer.self, from: bytes))?.error ?? String(decoding: bytes.prefix(300), as: UTF8.self)
            throw AgentRequestError(description: "\(method) \(path): HTTP \(status): \(reason)")
        }
        do {
            return try JSONDecoder().decode(Envelope<T>.self, from: bytes).data
        } catch {
            throw AgentRequestError(description: "\(method) \(path): an answer this tool cannot read: \(error)")
        }
    }

    struct Envelope<T: Decodable>: Decodable {
        let data: T
    }

    struct ErrorAnswer: Decodable {
        let error: String
    }
}
