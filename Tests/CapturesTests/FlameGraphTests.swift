import Foundation
import Testing

@testable import Captures

/// Icicle graphs drawn from folded stacks: widths by samples, depth by position, zoom by focus,
/// search highlights, every name escaped, a bounded document.
@Suite struct FlameGraphTests {
    /// The frames drawn: name → (x, y, width), from the `<title>` and `<rect>` of each frame.
    static func frames(_ svg: String) -> [String: (x: Double, y: Double, width: Double)] {
        var found: [String: (Double, Double, Double)] = [:]
        for match in svg.matches(of: #/<g class="frame"><title>(.*?) — \d+ samples.*?<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"/#) {
            found[String(match.1)] = (Double(match.2)!, Double(match.3)!, Double(match.4)!)
        }
        return found
    }

    static let graph = FlameGraph(stacks: [["node", "main", "loadConfig"], ["node", "main", "loadConfig"], ["node", "main", "other"], ["node", "idle"]])

    @Test func widthsFollowSamplesAndChildrenSitBelowTheirParents() throws {
        let svg = Self.graph.svg(title: "t") { "?focus=" + $0.map(String.init).joined(separator: ".") }
        let frames = Self.frames(svg)
        let root = try #require(frames["all"]), node = try #require(frames["node"]), main = try #require(frames["main"])
        let load = try #require(frames["loadConfig"]), other = try #require(frames["other"]), idle = try #require(frames["idle"])
        #expect(root.width == 1200 && node.width == 1200 && main.width == 900 && idle.width == 300 && load.width == 600 && other.width == 300)
        #expect(root.y < node.y && node.y < main.y && main.y < load.y && load.y == other.y && main.y == idle.y)
        #expect(idle.x == 0 && main.x == 300 && load.x == 300 && other.x == 900)  // siblings by name
        // Links name a frame by child indexes (children in name order: idle, main; loadConfig, other).
        #expect(svg.hasPrefix("<?xml") && svg.contains(#"href="?focus=0.1.0""#) && svg.contains(#"href="?focus=""#))
    }

    @Test func focusZoomsAndSearchHighlights() throws {
        let svg = Self.graph.svg(title: "t", focus: [0, 1], search: "Config") { $0.map(String.init).joined(separator: ".") }
        let frames = Self.frames(svg)
        #expect(frames["loadConfig"]?.width == 800 && frames["other"]?.width == 400 && frames["idle"] == nil)
        #expect(frames["main"]?.width == 1200 && frames["node"]?.width == 1200)  // the way back up, full width
        #expect(svg.contains("3 samples in main") && svg.contains("\"Config\" matches 2 (66.67%)"))
        #expect(svg.contains("fill=\"#e040e0\""))
        // A focus that does not exist stops where the path ends.
        #expect(Self.frames(Self.graph.svg(title: "t", focus: [0, 5]) { _ in "" })["idle"] != nil)
    }

    @Test func hostileNamesAreEscapedAndTheDocumentIsBounded() {
        let hostile = FlameGraph(stacks: [["</title><script>alert(1)</script>", "a\"b'c&d"]])
        let svg = hostile.svg(title: "<t>", search: "<x>") { _ in "javascript:\"x\"" }
        #expect(!svg.contains("<script>") && svg.contains("&lt;/title&gt;&lt;script&gt;") && svg.contains("a&quot;b&#39;c&amp;d"))
        #expect(svg.contains("&lt;t&gt;") && svg.contains("\"&lt;x&gt;\" matches") && !svg.contains("href=\"javascript:\"x\""))
        let wide = FlameGraph(stacks: (0..<30_000).map { ["root", "f\($0)"] })
        #expect(Self.frames(wide.svg(title: "t") { _ in "" }).count <= FlameGraph.maxFrames + 2)
        // Long names are cut; XML's forbidden noncharacters replaced.
        let long = FlameGraph(stacks: [[String(repeating: "x", count: 5000) + "\u{FFFE}"]]).svg(title: "t") { _ in "" }
        #expect(long.contains(String(repeating: "x", count: 256) + "…") && !long.contains(String(repeating: "x", count: 257)))
        #expect(!FlameGraph(stacks: [["a\u{FFFF}b"]]).svg(title: "t") { _ in "" }.contains("\u{FFFF}"))
    }
}
