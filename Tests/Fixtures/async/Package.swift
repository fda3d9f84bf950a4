// swift-tools-version:6.0
// Test fixture: async workers for the async executor's tests (AsyncExecutorTests).
import PackageDescription

let package = Package(
    name: "async",
    products: [
        .library(name: "async", type: .dynamic, targets: ["AsyncFixture"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../../.."),
    ],
    targets: [
        .target(name: "AsyncFixture", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
