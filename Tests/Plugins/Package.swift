// swift-tools-version:6.0
//
// Every plugin package the tests load, but the consumer example, built in one build: `make examples
// fixtures` runs `swift build` here (and `--product web-app` for the web app's server). The examples and
// fixtures stay packages of their own that a user builds with `swift build` in their directory; here
// they are path dependencies of one root, so the SDK (SergeantCore, SergeantABI, swift-log) and the web
// app's Hummingbird are built once for all of them instead of once per package. The .so files land in
// Tests/Plugins/.build/debug (ProjectPaths.plugin and .fixturePackage look there). The consumer example
// is left out on purpose: `make examples` builds it in its own directory, exactly as a user builds a
// worker, and the tests that load it load that build.
import PackageDescription

/// One plugin package: where it is (from this directory) and the dynamic library product it makes.
struct Plugin {
    let path: String
    let product: String
}

let plugins: [Plugin] = [
    "benchmark", "delayed_task", "hanging_threads", "interop", "max_retries", "mixed_producer_consumer",
    "multiple_consumers", "multithreaded", "stop", "timeout", "web_app",
].map { Plugin(path: "../../Plugins-Examples/\($0)", product: $0) }
    + ["async", "chaos", "parity"].map { Plugin(path: "../Fixtures/\($0)", product: $0) }

let package = Package(
    name: "plugins",
    dependencies: plugins.map { .package(path: $0.path) },
    targets: [
        /// Builds nothing of its own: depending on every plugin's dynamic library makes one
        /// `swift build` link them all.
        .target(
            name: "AllPlugins",
            dependencies: plugins.map { plugin -> Target.Dependency in
                .product(name: plugin.product, package: String(plugin.path.split(separator: "/").last!))
            }
        ),
    ]
)
