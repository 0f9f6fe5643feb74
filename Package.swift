// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "errno_exporter",
    products: [
        .executable(name: "errno_exporter", targets: ["errno_exporter"]),
        .executable(name: "errno-load", targets: ["errno-load"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        // C shims: libbpf's API (and its variadic logger) for Swift.
        .target(name: "CLibBPF", linkerSettings: [.linkedLibrary("bpf"), .linkedLibrary("elf"), .linkedLibrary("z")]),
        // capset(2) and prctl(2) for dropping capabilities after attach.
        .target(name: "CCapabilities"),
        // The compiled BPF object embedded in the binary, plus the kernel/user shared structs (bpf/errno_exporter.h).
        .target(name: "CErrnoBPF"),
        // Swift over libbpf: objects, programs, links, maps, per-CPU sums, batch reads.
        .target(name: "BPFKit", dependencies: ["CLibBPF"], swiftSettings: strict),
        // Metric snapshot model and its encoders; the process collector.
        .target(name: "Exposition", swiftSettings: strict),
        // Syscall and errno names for x86_64 and arm64 (generated from kernel UAPI headers), path syscalls.
        .target(name: "KernelNames", swiftSettings: strict),
        // The config file: schema, strict YAML decoding with positions, validation.
        .target(name: "ErrnoConfig", dependencies: ["KernelNames", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        // The domain: syscall/errno names, the BPF program's maps decoded into metric families.
        .target(
            name: "ErrnoCore",
            dependencies: [
                "BPFKit", "CErrnoBPF", "CCapabilities", "Exposition", "ErrnoConfig", "KernelNames",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // HTTP: routes for /metrics, /, /-/healthy, /-/ready.
        .target(
            name: "ErrnoServer",
            dependencies: [
                "ErrnoCore", "Exposition",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "errno_exporter",
            dependencies: [
                "BPFKit", "CLibBPF", "ErrnoCore", "ErrnoServer", "ErrnoConfig", "Exposition", "KernelNames",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        // Raw path syscalls for errno-load (glibc's open() is openat; syscall(2) is variadic).
        .target(name: "CRawSyscalls"),
        // A load generator with a chosen comm: exact numbers of failing syscalls for tests and benchmarks.
        .executableTarget(name: "errno-load", dependencies: ["CRawSyscalls"], swiftSettings: strict),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition"], resources: [.copy("Golden")], swiftSettings: strict),
        .testTarget(
            name: "ErrnoCoreTests", dependencies: ["ErrnoCore", "ErrnoConfig", "KernelNames", "BPFKit", "CLibBPF", "CErrnoBPF"],
            swiftSettings: strict),
        .testTarget(name: "ErrnoConfigTests", dependencies: ["ErrnoConfig"], swiftSettings: strict),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["errno_exporter", "errno-load", "Exposition", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
    ]
)
