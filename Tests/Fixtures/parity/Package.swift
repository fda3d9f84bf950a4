// swift-tools-version:6.0
// Test fixture: a worker that exercises every line of the parity list through the SDK.
import PackageDescription

let package = Package(
    name: "parity",
    products: [
        .library(name: "parity", type: .dynamic, targets: ["Parity"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../../.."),
    ],
    targets: [
        .target(name: "Parity", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
