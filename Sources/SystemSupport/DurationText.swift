/// Durations as Prometheus writes them: `30s`, `10m`, `1h30m`, `7d`.
public enum DurationText {
    /// Whole seconds, or nil when `text` is not such a duration.
    public static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
        var total = 0, number = 0, digits = 0
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                number = number * 10 + digit
                digits += 1
                if digits > 9 { return nil }
            } else if let unit = units[character], digits > 0 {
                let (part, overflowed) = number.multipliedReportingOverflow(by: unit)
                let (sum, overflowedSum) = total.addingReportingOverflow(part)
                if overflowed || overflowedSum { return nil }
                total = sum
                number = 0
                digits = 0
            } else {
                return nil
            }
        }
        return digits == 0 && total > 0 ? total : nil
    }

    /// `seconds` written as `seconds(_:)` reads it: `1h30m`, `45s`.
    public static func text(_ seconds: Int) -> String {
        var left = max(seconds, 0), text = ""
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] where left >= size {
            text += "\(left / size)\(unit)"
            left %= size
        }
        return text.isEmpty ? "0s" : text
    }
}
