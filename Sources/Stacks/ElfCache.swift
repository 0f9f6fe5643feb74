import CElfUtils
import Glibc

/// ELF images by file identity, so a burst of captures parses each file once. Bounded by count and
/// by what the parsed symbol tables hold: the least recently used image is closed when more than
/// `capacity` are open or their symbols exceed `symbolBudget`.
public final class ElfCache {
    private var images: [FileIdentity: (image: ElfImage, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0
    public let capacity: Int
    /// Symbols (about 32 bytes each) the cached images may hold together.
    public let symbolBudget: Int

    public init(capacity: Int = 64, symbolBudget: Int = 2_000_000) {
        self.capacity = capacity
        self.symbolBudget = symbolBudget
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
        images[image.identity] = (image, clock)
        while images.count > 1, images.count > capacity || images.values.reduce(0, { $0 + $1.image.symbolCount }) > symbolBudget,
            let oldest = images.filter({ $0.key != image.identity }).min(by: { $0.value.lastUse < $1.value.lastUse })?.key
        {
            images[oldest] = nil
        }
        return image
    }
}
