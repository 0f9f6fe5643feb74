import ErrnoConfig
import ErrnoKernel
import Foundation
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// The certificate chain and key, re-read when their files change and handed to every TLS handshake:
/// rotating a certificate needs no restart. A file that fails to load keeps the previous pair in use.
final class CertificateSource: Sendable {
    struct Loaded {
        var chain: [NIOSSLCertificateSource]
        var key: NIOSSLPrivateKeySource
        var stamp: [Date?]
    }

    private let certFile: String
    private let keyFile: String
    private let logger: Logger
    private let state: Mutex<Loaded>

    init(certFile: String, keyFile: String, logger: Logger) throws {
        self.certFile = certFile
        self.keyFile = keyFile
        self.logger = logger
        state = Mutex(try Self.load(certFile: certFile, keyFile: keyFile))
    }

    static func stamp(_ files: String...) -> [Date?] {
        files.map { (try? FileManager.default.attributesOfItem(atPath: $0))?[.modificationDate] as? Date }
    }

    static func load(certFile: String, keyFile: String) throws -> Loaded {
        let chain = try NIOSSLCertificate.fromPEMFile(certFile).map { NIOSSLCertificateSource.certificate($0) }
        guard !chain.isEmpty else { throw StartupError("tls_server_config: \(certFile) holds no certificate") }
        let key = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        return Loaded(chain: chain, key: key, stamp: stamp(certFile, keyFile))
    }

    var initial: Loaded { state.withLock { $0 } }

    /// The pair for the handshake under way.
    func current() -> NIOSSLContextConfigurationOverride {
        state.withLock { loaded in
            if Self.stamp(certFile, keyFile) != loaded.stamp {
                do {
                    loaded = try Self.load(certFile: certFile, keyFile: keyFile)
                    logger.info("TLS certificate reloaded", metadata: ["cert_file": "\(certFile)"])
                } catch {
                    loaded.stamp = Self.stamp(certFile, keyFile)  // do not retry on every handshake
                    logger.error("TLS certificate reload failed; the previous one stays in use", metadata: ["error": "\(error)"])
                }
            }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = loaded.chain
            override.privateKey = loaded.key
            return override
        }
    }
}

/// Turns `tls_server_config` into NIOSSL's server configuration.
public enum TLSSetup {
    public static func configuration(_ tls: WebConfig.TLS, logger: Logger) throws -> TLSConfiguration {
        let source = try CertificateSource(certFile: tls.certFile, keyFile: tls.keyFile, logger: logger)
        let initial = source.initial
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: initial.chain, privateKey: initial.key)
        configuration.minimumTLSVersion = switch tls.minVersion {
        case .tls10: .tlsv1
        case .tls11: .tlsv11
        case .tls12: .tlsv12
        case .tls13: .tlsv13
        }
        switch tls.clientAuth {
        case .none:
            configuration.certificateVerification = .none
        case .verifyIfGiven:
            configuration.certificateVerification = .optionalVerification
        case .requireAndVerify:
            configuration.certificateVerification = .noHostnameVerification
        }
        if let ca = tls.clientCAFile { configuration.trustRoots = .file(ca) }
        configuration.sslContextCallback = { _, promise in promise.succeed(source.current()) }
        return configuration
    }
}
