// swift-tools-version:6.0
// The seed's consumer as a worker plugin: `swift build` makes .build/debug/libconsumer.so.
import PackageDescription

let package = Package(
    name: "consumer",
    products: [
        .library(name: "consumer", type: .dynamic, targets: ["Consumer"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
    ],
    targets: [
        .target(name: "Consumer", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
