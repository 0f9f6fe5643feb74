import CElfUtils
import Glibc

/// A process's code as the unwinder and symbolizer see it: its mappings (read once, at capture
/// time) and the ELF images behind them (from the shared cache), opened through /proc/PID/root so
/// that processes in other mount namespaces (containers) resolve to their own files.
public final class ProcessCode: CodeLocator {
    public let maps: ProcessMaps
    private let cache: ElfCache
    private let root: String
    private var resolved: [UInt64: ElfImage?] = [:]

    public init(maps: ProcessMaps, cache: ElfCache, root: String? = nil) {
        self.maps = maps
        self.cache = cache
        self.root = root ?? "/proc/\(maps.pid)/root"
    }

    /// The mapping's image, when it maps a regular ELF file that is still the mapped one: through
    /// the process's root, the same inode (an overlay file system shows its own device there, the
    /// mapping its lower layer's); once the process is gone, at the same path in the agent's root
    /// only when device and inode both match (another file system may reuse the inode number).
    func image(for mapping: Mapping) -> ElfImage? {
        if let known = resolved[mapping.start] { return known }
        var image: ElfImage?
        if mapping.isFile, !mapping.name.hasSuffix(" (deleted)") {
            if let found = cache.image(path: root + mapping.name, displayPath: mapping.name), found.identity.inode == mapping.inode {
                image = found
            } else if let found = cache.image(path: mapping.name, displayPath: mapping.name), found.identity.inode == mapping.inode,
                found.identity.deviceNumbers == mapping.device
            {
                image = found
            }
        }
        resolved[mapping.start] = image
        return image
    }

    public func image(at address: UInt64) -> (image: ElfImage, virtualAddress: UInt64)? {
        guard let mapping = maps.mapping(containing: address), let image = image(for: mapping),
            let virtualAddress = image.virtualAddress(fileOffset: (address - mapping.start) &+ mapping.fileOffset)
        else { return nil }
        return (image, virtualAddress)
    }
}
