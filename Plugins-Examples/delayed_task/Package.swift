// swift-tools-version:6.0
// Delayed task: a Swift twin of Python sergeant's example 7.
import PackageDescription

let package = Package(
    name: "delayed_task",
    products: [
        .library(name: "delayed_task", type: .dynamic, targets: ["DelayedTask"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
    ],
    targets: [
        .target(name: "DelayedTask", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
