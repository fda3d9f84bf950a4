// swift-tools-version:6.0
// Single producer, multiple consumers: a Swift twin of Python sergeant's example 2.
import PackageDescription

let package = Package(
    name: "multiple_consumers",
    products: [
        .library(name: "multiple_consumers", type: .dynamic, targets: ["MultipleConsumers"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
    ],
    targets: [
        .target(name: "MultipleConsumers", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
