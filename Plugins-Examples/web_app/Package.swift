// swift-tools-version:6.0
// A web app that hands slow work to sergeant: `swift build` makes .build/debug/web-app (a
// Hummingbird 2 server whose POST /signup pushes a send_welcome_email task) and
// .build/debug/libweb_app.so (the async worker plugin sergeant-host runs).
import PackageDescription

let package = Package(
    name: "web_app",
    products: [
        .library(name: "web_app", type: .dynamic, targets: ["WelcomeEmail"]),
        .executable(name: "web-app", targets: ["WebApp"]),
    ],
    dependencies: [
        .package(name: "sergeant", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(name: "WelcomeEmail", dependencies: [.product(name: "Sergeant", package: "sergeant")]),
        .executableTarget(
            name: "WebApp",
            dependencies: [
                .product(name: "SergeantClient", package: "sergeant"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
