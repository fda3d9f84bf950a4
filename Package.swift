// swift-tools-version:6.0
//
// sergeant for Swift: one package holding the libraries, the executables and the tests.
// Worker plugins live in their own packages under Plugins-Examples/ and depend on the
// `Sergeant` product of this one.
import PackageDescription

/// One of the repository's own tools (`make bench`, `make chaos`, `make soak`): an executable that
/// drives the real processes through the broker, with a private redis-server from SergeantTestSupport.
func toolTarget(_ name: String, extraDependencies: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: extraDependencies + [
            "SergeantBroker",
            "SergeantCompression",
            "SergeantCore",
            "SergeantTestSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]
    )
}

let package = Package(
    name: "sergeant",
    platforms: [.macOS(.v13)],
    products: [
        /// The SDK a worker plugin imports (`import Sergeant`).
        .library(name: "Sergeant", targets: ["Sergeant"]),
        /// The supervisor that spawns the worker processes.
        .executable(name: "sergeant-host", targets: ["sergeant-host"]),
        /// A worker process, which loads the plugin; sergeant-host starts it from its own directory.
        .executable(name: "sergeant-worker", targets: ["sergeant-worker"]),
        /// Pushing tasks from a Swift app: no plugin, no ArgumentParser, no host.
        .library(name: "SergeantClient", targets: ["SergeantClient"]),
        /// The producer and admin command line.
        .executable(name: "sergeant", targets: ["sergeant"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // MARK: C libraries
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        /// TLS to Redis (`rediss://`): the project owns the socket, OpenSSL encrypts it.
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CCompression",
            path: "Sources/CCompression",
            providers: [.apt(["zlib1g-dev", "libbz2-dev", "liblzma-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        /// Linux headers the Glibc module lacks (prctl), for the host only.
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        .target(name: "CSergeantABI", path: "Sources/CSergeantABI"),
        /// Swift helpers over the C ABI, linked into both the host and every plugin.
        .target(name: "SergeantABI", dependencies: ["CSergeantABI", "SergeantCore"]),

        // MARK: Libraries
        /// Values, tasks, msgpack, the configuration and the log format: linked into every
        /// plugin, so it links no compression library.
        .target(
            name: "SergeantCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The four compressors (zlib, gzip, bzip2, lzma) and the TaskEncoder that applies them:
        /// for the broker, the host and the command line, never for a plugin.
        .target(name: "SergeantCompression", dependencies: ["SergeantCore", "CCompression"]),
        /// The SDK: what a plugin sees is listed in Sources/Sergeant/Exports.swift.
        .target(
            name: "Sergeant",
            dependencies: [
                "SergeantCore",
                "SergeantABI",
                "CLinux",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SergeantBroker",
            dependencies: [
                "SergeantCore",
                "SergeantCompression",
                "CHiredis",
                "COpenSSL",
                "CCompression",
                "CSQLite",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The client library for apps that push tasks (`import SergeantClient`).
        .target(
            name: "SergeantClient",
            dependencies: [
                "SergeantBroker",
                "SergeantCore",
                "SergeantCompression",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The fleet's state (FleetSnapshot) and a host's processes as Prometheus metrics, through
        /// swift-metrics' vocabulary and swift-prometheus's registry (which writes the format).
        .target(
            name: "SergeantMetrics",
            dependencies: [
                "SergeantBroker",
                "SergeantCore",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        /// `sergeant web`: the dashboard server (Hummingbird 2): routes, HTML with escaping in one
        /// place, CSRF, authentication, the throughput history.
        .target(
            name: "SergeantWeb",
            dependencies: [
                "SergeantBroker",
                "SergeantCompression",
                "SergeantMetrics",
                "SergeantCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// Loads a plugin and reads its configuration: all that the producer CLI needs of a plugin.
        .target(
            name: "SergeantPluginLoader",
            dependencies: [
                "SergeantCore",
                "SergeantABI",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SergeantHost",
            dependencies: [
                "SergeantPluginLoader",
                "SergeantCore",
                "SergeantBroker",
                "SergeantABI",
                "CLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),

        // MARK: Executables
        .executableTarget(
            name: "sergeant-host",
            dependencies: [
                "SergeantHost",
                "SergeantMetrics",
                "SergeantBroker",
                "SergeantPluginLoader",
                "SergeantCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// No ArgumentParser here: it would load FoundationEssentials into every worker process.
        .executableTarget(name: "sergeant-worker", dependencies: ["SergeantHost", "SergeantPluginLoader", "SergeantCore"]),
        .executableTarget(
            name: "sergeant",
            dependencies: [
                "SergeantPluginLoader",
                "SergeantBroker",
                "SergeantMetrics",
                "SergeantWeb",
                "SergeantCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        /// `make bench`: the benchmark table against a private redis-server.
        toolTarget("sergeant-bench", extraDependencies: ["SergeantClient"]),
        /// `make chaos`: SIGKILLed workers and supervisors, redis-server restarts; counts lost tasks.
        toolTarget("sergeant-chaos"),
        /// `make soak`: millions of tasks per executor; RSS, descriptors and Redis memory sampled for growth.
        toolTarget("sergeant-soak"),

        // MARK: Tests
        /// Real services for tests: a redis-server on a free port, paths of built plugins.
        .target(name: "SergeantTestSupport", dependencies: ["SergeantCore"]),
        .testTarget(name: "SergeantCoreTests", dependencies: ["SergeantCore", "SergeantCompression", "SergeantTestSupport"]),
        .testTarget(
            name: "SergeantBrokerTests",
            dependencies: ["SergeantBroker", "SergeantMetrics", "SergeantCompression", "SergeantCore", "SergeantTestSupport",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SergeantClientTests",
            dependencies: ["SergeantClient", "SergeantBroker", "SergeantCore", "SergeantTestSupport",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SergeantHostTests",
            dependencies: ["SergeantHost", "SergeantPluginLoader", "SergeantABI", "SergeantBroker", "SergeantCompression", "SergeantCore",
                           "SergeantTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["SergeantCore", "SergeantCompression", "SergeantBroker", "SergeantPluginLoader", "SergeantTestSupport",
                           .product(name: "Logging", package: "swift-log")]
        ),
        /// The dashboard through HTTP (curl) and a real headless Chromium (Tests/Browser/drive.py over the DevTools pipe).
        .testTarget(
            name: "SergeantWebTests",
            dependencies: ["SergeantWeb", "SergeantBroker", "SergeantCompression", "SergeantCore", "SergeantTestSupport",
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Logging", package: "swift-log")]
        ),
        /// Python sergeant 0.27 (.venv-sergeant/, scripts/python-venv.sh) against the Swift side, through real processes.
        .testTarget(name: "InteropTests", dependencies: ["SergeantCore", "SergeantTestSupport"]),
        // The bench's table logic (ratios against Python and the peers, the Ir/task column);
        // nothing here runs a peer, so CI installs none.
        .testTarget(name: "BenchTests", dependencies: ["sergeant-bench"]),
    ]
)
