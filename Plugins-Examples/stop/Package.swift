// swift-tools-version:6.0
// Multiple workers stop: a Swift twin of Python sergeant's example 8.
import PackageDescription

let package = Package(
    name: "stop",
    products: [
        .library(name: "stop", type: .dynamic, targets: ["Stop"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
    ],
    targets: [
        .target(name: "Stop", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
