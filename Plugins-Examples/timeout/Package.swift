// swift-tools-version:6.0
// Timeout: a Swift twin of Python sergeant's example 4.
import PackageDescription

let package = Package(
    name: "timeout",
    products: [
        .library(name: "timeout", type: .dynamic, targets: ["Timeout"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
    ],
    targets: [
        .target(name: "Timeout", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
