// swift-tools-version:6.0
// Hanging threads: a Swift twin of Python sergeant's example 9.
import PackageDescription

let package = Package(
    name: "hanging_threads",
    products: [
        .library(name: "hanging_threads", type: .dynamic, targets: ["HangingThreads"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
    ],
    targets: [
        .target(name: "HangingThreads", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
