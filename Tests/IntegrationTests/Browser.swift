import Foundation
import Glibc
import Testing

/// A headless Chromium driven over the DevTools protocol (by `Tests/Browser/cdp.mjs` under node):
/// load pages, evaluate JavaScript in them, emulate a screen, take screenshots, list what they
/// requested. Killed, with its profile, when released.
final class Browser {
    private let chromium = Process()
    private let driver = Process()
    private let commands = Pipe()
    private let answers = Pipe()
    private var buffered = Data()
    let profile = NSTemporaryDirectory() + "errno-chromium-\(UUID().uuidString.prefix(8))"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(width: Int = 1280, height: Int = 800) throws {
        chromium.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
        chromium.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(profile)", "--remote-debugging-port=0",
            "--window-size=\(width),\(height)", "about:blank",
        ]
        chromium.standardOutput = FileHandle.nullDevice
        chromium.standardError = FileHandle.nullDevice
        try chromium.run()
        driver.executableURL = URL(fileURLWithPath: "/usr/bin/node")
        driver.arguments = ["--experimental-websocket", NodeyTests.root.appendingPathComponent("Tests/Browser/cdp.mjs").path, profile]
        driver.standardInput = commands
        driver.standardOutput = answers
        driver.standardError = FileHandle.nullDevice
        try driver.run()
    }

    deinit {
        for process in [driver, chromium] where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: profile)
    }

    /// Sends one command; its value, or a thrown error with the driver's reason.
    @discardableResult
    func send(_ command: [String: Any]) throws -> Any? {
        commands.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: command) + Data("\n".utf8))
        while !buffered.contains(0x0A) {
            let chunk = answers.fileHandleForReading.availableData
            if chunk.isEmpty { throw Failure(description: "the browser driver exited") }
            buffered.append(chunk)
        }
        let newline = buffered.firstIndex(of: 0x0A)!
        let line = buffered[..<newline]
        buffered = Data(buffered[buffered.index(after: newline)...])
        let answer = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        guard answer["ok"] as? Bool == true else { throw Failure(description: "\(command["cmd"] ?? "?"): \(answer["error"] ?? "?")") }
        return answer["value"] is NSNull ? nil : answer["value"]
    }

    func navigate(_ url: String) throws { try send(["cmd": "navigate", "url": url]) }

    func evaluate(_ expression: String) throws -> Any? { try send(["cmd": "eval", "expression": expression]) }

    /// Polls `expression` until it is `true` (or `timeout` seconds pass); whether it became true.
    func waitFor(_ expression: String, timeout: Double = 20) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout * testTimeScale)
        repeat {
            if try await offPool({ (try self.evaluate(expression) as? Bool) == true }) { return true }
            try await Task.sleep(for: .milliseconds(200))
        } while Date() < deadline
        return false
    }

    func viewport(width: Int, height: Int) throws { try send(["cmd": "viewport", "width": width, "height": height]) }

    /// A PNG of the viewport at `path`.
    func screenshot(_ path: String) throws { try send(["cmd": "screenshot", "path": path]) }

    /// Every URL the page requested.
    func requests() throws -> [String] { try send(["cmd": "requests"]) as? [String] ?? [] }
}

extension Browser: @unchecked Sendable {}
