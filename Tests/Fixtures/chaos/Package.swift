// swift-tools-version:6.0
// Test fixture for `make chaos`: a worker whose every task leaves a trace in a shared file,
// so the fault-injection suite can tell which tasks ran, how often, and which never did.
import PackageDescription

let package = Package(
    name: "chaos",
    products: [
        .library(name: "chaos", type: .dynamic, targets: ["Chaos"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../../.."),
    ],
    targets: [
        .target(name: "Chaos", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
