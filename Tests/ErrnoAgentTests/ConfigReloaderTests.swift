import ErrnoConfig
import Testing

@testable import ErrnoAgent

@Suite struct ConfigReloaderTests {
    @Test func mapSizesChangeOnlyAtARestart() throws {
        var old = Config(), new = Config()
        try ConfigReloader.checkRestartOnly(from: old, to: new)
        new.paths.maxSeries = 20
        old.captures.userStackBytes = 8192
        #expect {
            try ConfigReloader.checkRestartOnly(from: old, to: new)
        } throws: { error in
            let text = "\(error)"
            return text.contains("paths.max_series (10000 → 20)") && text.contains("captures.user_stack_bytes (8192 → 32768)")
                && text.contains("restart errno_exporter")
        }
    }
}
