// swift-tools-version:6.0
// The Swift side of the interoperability tests with Python sergeant (Tests/InteropTests):
// `swift build` makes .build/debug/libinterop.so.
import PackageDescription

let package = Package(
    name: "interop",
    products: [
        .library(name: "interop", type: .dynamic, targets: ["Interop"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
    ],
    targets: [
        .target(name: "Interop", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
    ]
)
