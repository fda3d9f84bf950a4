// swift-tools-version:6.0
// Max retries: a Swift twin of Python sergeant's example 5.
import PackageDescription

let package = Package(
    name: "max_retries",
    products: [
        .library(name: "max_retries", type: .dynamic, targets: ["MaxRetries"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
    ],
    targets: [
        .target(name: "MaxRetries", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
