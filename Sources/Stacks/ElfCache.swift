import CElfUtils
import Glibc

/// ELF images by file identity, so a burst of captures parses each file once. Bounded: the least
/// recently used image is closed when more than `capacity` are open.
public final class ElfCache {
    private var images: [FileIdentity: (image: ElfImage, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0
    public let capacity: Int

    public init(capacity: Int = 64) {
        self.capacity = capacity
    }

    /// The image of the file at `path`, parsed at most once per (device, inode, mtime, size).
    public func image(path: String, displayPath: String) -> ElfImage? {
        guard let opened = try? TargetFile.open(path) else { return nil }
        let identity = FileIdentity(opened.info)
        close(opened.descriptor)
        clock += 1
        if let cached = images[identity] {
            images[identity] = (cached.image, clock)
            return cached.image
        }
        guard let image = try? ElfImage(path: path, displayPath: displayPath) else { return nil }
        if images.count >= capacity, let oldest = images.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            images[oldest] = nil
        }
        images[image.identity] = (image, clock)
        return image
    }
}
