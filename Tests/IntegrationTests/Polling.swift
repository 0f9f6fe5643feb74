import Foundation

/// Probes until `satisfied` says yes or `patience` seconds have passed, and returns the last probe's
/// answer. The last probe always starts after the patience has run out: on a 2-core machine other
/// tests' blocking work can hold Swift's cooperative threads for over a minute, so one probe may
/// return long after it was sent, with what was true then; that answer is never the last word.
func poll<Answer>(
    patience: TimeInterval, every interval: Duration = .milliseconds(500), _ probe: () async throws -> Answer,
    until satisfied: (Answer) -> Bool
) async throws -> Answer {
    let deadline = Date().addingTimeInterval(patience)
    while true {
        let started = Date()
        let answer = try await probe()
        if satisfied(answer) || started >= deadline { return answer }
        try await Task.sleep(for: interval)
    }
}
