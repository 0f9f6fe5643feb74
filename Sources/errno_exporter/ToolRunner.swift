import ArgumentParser
import Dispatch
import ErrnoClient
import Foundation

/// How the tools that talk to a running agent run: their async work on the main thread's behalf,
/// Ctrl-C and SIGTERM turned into `stop` (so that what they created in the agent is removed on the
/// way out), a closed pipe (`… | head`) ending them the same way, errors printed as one line.
enum ToolRunner {
    /// Runs `work` with a line printer (stdout) and a status printer (stderr) until it returns.
    static func run(
        _ name: String, connection: AgentConnection, stop: @escaping @Sendable () -> Void,
        work: @escaping @Sendable (_ print: @escaping @Sendable (String) -> Void, _ status: @escaping @Sendable (String) -> Void) async throws -> Void
    ) throws {
        signal(SIGPIPE, SIG_IGN)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber)
            source.setEventHandler { stop() }
            source.resume()
            sources.append(source)
        }
        nonisolated(unsafe) var outcome: Result<Void, any Error> = .success(())
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await work(
                    { line in
                        do { try FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8)) } catch { stop() }
                    },
                    { message in FileHandle.standardError.write(Data((message + "\n").utf8)) })
            } catch {
                outcome = .failure(error)
            }
            await connection.shutdown()
            done.signal()
        }
        done.wait()
        sources.forEach { $0.cancel() }
        if case .failure(let error) = outcome {
            FileHandle.standardError.write(Data("errno_exporter \(name): \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
