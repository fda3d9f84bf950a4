// swift-tools-version:6.0
// Multithreaded worker: a Swift twin of Python sergeant's example 6.
import PackageDescription

let package = Package(
    name: "multithreaded",
    products: [
        .library(name: "multithreaded", type: .dynamic, targets: ["Multithreaded"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
    ],
    targets: [
        .target(name: "Multithreaded", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
