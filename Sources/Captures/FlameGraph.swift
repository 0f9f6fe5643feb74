import SystemSupport

/// An icicle graph of stacks (Brendan Gregg's flame graph, root on top), drawn as standalone SVG
/// without any script: every frame is a link that zooms into it (the graph drawn again from that
/// frame down, `focus`: the frame's position, child index by child index, children in name order),
/// and a search term highlights the frames whose names contain it, with the share of samples they
/// cover. Built from folded frames (outermost first), so names hold no `;` and no control
/// character; names are cut at `maxNameScalars`, XML's forbidden noncharacters replaced, every name
/// escaped. Bounded whatever the stacks: `maxFrames` drawn, links of indexes, not names.
public struct FlameGraph: Sendable {
    final class Node {
        let name: String
        var count = 0
        var children: [String: Node] = [:]

        init(_ name: String) { self.name = name }

        func child(_ name: String) -> Node {
            if let known = children[name] { return known }
            let node = Node(name)
            children[name] = node
            return node
        }

        /// Children in drawing order (by name): a focus index refers to this order.
        var ordered: [Node] { children.values.sorted { $0.name < $1.name } }
    }

    /// The stacks, outermost frame first, one per sample.
    public let stacks: [[String]]

    public init(stacks: [[String]]) {
        self.stacks = stacks.map { $0.map(Self.drawable) }
    }

    /// Scalars of a frame's name drawn at most.
    static let maxNameScalars = 256

    /// `name` cut to `maxNameScalars` (ending in `…`), U+FFFE and U+FFFF (not allowed in XML) as U+FFFD.
    static func drawable(_ name: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in name.unicodeScalars.prefix(maxNameScalars) {
            out.append(scalar.value == 0xFFFE || scalar.value == 0xFFFF ? "\u{FFFD}" : scalar)
        }
        if name.unicodeScalars.count > maxNameScalars { out.append("…") }
        return String(out)
    }

    public static let width = 1200.0
    static let frameHeight = 17.0
    static let top = 48.0
    /// Frames narrower than this (pixels) are not drawn.
    static let minimumWidth = 0.5
    /// Frames drawn at most (a hostile number of distinct stacks cannot make a huge document).
    static let maxFrames = 5_000

    /// The graph as an SVG document. `focus`: the frame to zoom into, as child indexes from the
    /// root (the graph is drawn from it down; the frames above are shown full width); `search`:
    /// frames whose names contain it are drawn in magenta; `link`: the URL of a zoom into a frame.
    /// `standalone`: with the XML declaration (a file of its own); without, for inlining in HTML.
    public func svg(title: String, focus: [Int] = [], search: String? = nil, standalone: Bool = true, link: ([Int]) -> String) -> String {
        let root = Node("all")
        for stack in stacks {
            var node = root
            root.count += 1
            for name in stack {
                node = node.child(name)
                node.count += 1
            }
        }
        // The zoomed-into frame, and the path to it that exists.
        var focused = root, path: [Int] = [], lineage = [root]
        for index in focus {
            let children = focused.ordered
            guard index >= 0, index < children.count else { break }
            focused = children[index]
            path.append(index)
            lineage.append(focused)
        }
        var body: [String] = []
        var drawn = 0, depth = 0
        // The frames above the focus, full width: each zooms out to itself.
        for (index, node) in lineage.enumerated() {
            body.append(frame(node, x: 0, width: Self.width, depth: depth, total: focused.count, target: Array(path.prefix(index)), search: search, link: link, dimmed: index < path.count))
            depth += 1
            drawn += 1
        }
        var maxDepth = depth
        // Then the focused frame's descendants, breadth by breadth.
        var level: [(node: Node, x: Double, path: [Int])] = [(focused, 0, path)]
        let scale = Self.width / Double(max(focused.count, 1))
        while !level.isEmpty, drawn < Self.maxFrames {
            var next: [(node: Node, x: Double, path: [Int])] = []
            for (node, x, nodePath) in level {
                var childX = x
                for (index, child) in node.ordered.enumerated() {
                    let width = Double(child.count) * scale
                    defer { childX += width }
                    guard width >= Self.minimumWidth, drawn < Self.maxFrames else { continue }
                    let childPath = nodePath + [index]
                    body.append(frame(child, x: childX, width: width, depth: depth, total: focused.count, target: childPath, search: search, link: link, dimmed: false))
                    drawn += 1
                    next.append((child, childX, childPath))
                }
            }
            if !next.isEmpty { depth += 1 }
            maxDepth = depth
            level = next
        }
        let matched = search.map { $0.isEmpty ? 0 : Self.matchingSamples(root: focused, search: $0) } ?? 0
        let height = Self.top + Double(maxDepth + 1) * Self.frameHeight + 10
        let escapedTitle = MarkupText.escape(title)
        var header = "\(focused.count) samples"
        if !path.isEmpty { header += " in " + MarkupText.escape(focused.name) }
        if let search, !search.isEmpty {
            let share = focused.count == 0 ? 0 : Double(matched) * 100 / Double(focused.count)
            header += " · \"\(MarkupText.escape(search))\" matches \(matched) (\(Self.format(share))%)"
        }
        return (standalone ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : "") + """
            <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" class="flamegraph" width="\(Int(Self.width))" height="\(Int(height))" viewBox="0 0 \(Int(Self.width)) \(Int(height))" font-family="monospace" font-size="12">
            <title>\(escapedTitle)</title>
            <rect width="100%" height="100%" fill="#fdfdf6"/>
            <text x="6" y="18" font-size="15">\(escapedTitle)</text>
            <text x="6" y="36" fill="#555">\(header)</text>
            \(body.joined(separator: "\n"))
            </svg>

            """
    }

    private func frame(
        _ node: Node, x: Double, width: Double, depth: Int, total: Int, target: [Int], search: String?, link: ([Int]) -> String, dimmed: Bool
    ) -> String {
        let y = Self.top + Double(depth) * Self.frameHeight
        let share = total == 0 ? 0 : Double(node.count) * 100 / Double(total)
        let highlighted = search.map { !$0.isEmpty && node.name.contains($0) } ?? false
        let fill = dimmed ? "#e0e0e0" : highlighted ? "#e040e0" : Self.color(node.name)
        let name = MarkupText.escape(node.name)
        // Room for about one character per 7 pixels; a cut name ends in "..".
        let room = Int((width - 6) / 7)
        let label = room < 3 ? "" : MarkupText.escape(node.name.count <= room ? node.name : String(node.name.prefix(room - 2)) + "..")
        return """
            <a xlink:href="\(MarkupText.escape(link(target)))" href="\(MarkupText.escape(link(target)))" target="_top"><g class="frame"><title>\(name) — \(node.count) samples (\(Self.format(share))%)</title>\
            <rect x="\(Self.format(x))" y="\(Self.format(y))" width="\(Self.format(width))" height="\(Self.format(Self.frameHeight - 1))" fill="\(fill)" rx="2"/>\
            <text x="\(Self.format(x + 3))" y="\(Self.format(y + 12))">\(label)</text></g></a>
            """
    }

    /// Samples of `root` with a frame (at or below it) whose name contains `search`: each counted once.
    static func matchingSamples(root: Node, search: String) -> Int {
        func visit(_ node: Node) -> Int {
            if node.name.contains(search) { return node.count }
            return node.children.values.reduce(0) { $0 + visit($1) }
        }
        return root.name.contains(search) ? root.count : root.children.values.reduce(0) { $0 + visit($1) }
    }

    /// Warm colours by name (stable across draws); JavaScript green, kernel frames orange.
    static func color(_ name: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let vary = Int(hash % 55)
        if name.hasPrefix("JS:") { return "rgb(\(50 + vary),\(180 + vary / 2),\(60 + vary / 2))" }
        if name.hasSuffix("_[k]") { return "rgb(230,\(130 + vary),40)" }
        return "rgb(\(205 + vary),\(80 + vary * 2),\(40 + vary / 2))"
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
