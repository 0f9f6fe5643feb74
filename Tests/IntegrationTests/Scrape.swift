/// A parsed text-format (0.0.4) exposition: enough of a parser to look samples up by labels.
struct Scrape {
    struct Sample {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    let text: String
    let samples: [Sample]

    init(text: String) throws {
        self.text = text
        var samples: [Sample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            samples.append(try Self.parse(Substring(line)))
        }
        self.samples = samples
    }

    /// The value of the one sample with exactly these labels, or nil.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// Samples of `name` whose labels include `labels`.
    func matching(_ name: String, _ labels: [String: String]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ line: Substring) throws -> Sample {
        var rest = line[...]
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = String(rest.prefix { $0 != "=" })
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else { throw ParseError(description: "bad label in \(line)") }
                rest = rest.dropFirst(2)
                var value = ""
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    if character == "\\" {
                        let escaped = rest.first
                        rest = rest.dropFirst()
                        switch escaped {
                        case "n": value.append("\n")
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        default: throw ParseError(description: "bad escape in \(line)")
                        }
                    } else {
                        value.append(character)
                    }
                }
                rest = rest.dropFirst()
                labels[key] = value
                if rest.first == "," { rest = rest.dropFirst() }
            }
            rest = rest.dropFirst()
        }
        guard let value = Double(rest.trimmingPrefix(" ")) ?? (rest.hasSuffix("Inf") ? (rest.hasSuffix("-Inf") ? -.infinity : .infinity) : nil)
        else { throw ParseError(description: "bad value in \(line)") }
        return Sample(name: name, labels: labels, value: value)
    }
}
