// swift-tools-version:6.0
// Mixed producer consumer: a Swift twin of Python sergeant's example 3.
import PackageDescription

let package = Package(
    name: "mixed_producer_consumer",
    products: [
        .library(name: "mixed_producer_consumer", type: .dynamic, targets: ["MixedProducerConsumer"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
    ],
    targets: [
        .target(name: "MixedProducerConsumer", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
