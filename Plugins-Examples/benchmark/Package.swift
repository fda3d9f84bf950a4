// swift-tools-version:6.0
// The benchmark's worker: counts tasks and reports the time from the first to the last.
import PackageDescription

let package = Package(
    name: "benchmark",
    products: [
        .library(name: "benchmark", type: .dynamic, targets: ["Benchmark"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
    ],
    targets: [
        .target(name: "Benchmark", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
