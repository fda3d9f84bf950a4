import Foundation

// MARK: - ProjectPaths

/// Where the repository's built artefacts are, for tests that run the real executables and
/// load the real plugins. `make test` builds them before `swift test`.
public enum ProjectPaths {
    /// The repository root (found from this file's path).
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Task bytes written by Python sergeant 0.27 (`make vectors` regenerates them with
    /// scripts/python-vectors.py).
    public static let pythonVectors = root.appendingPathComponent("Tests/Fixtures/python-sergeant-0.27-tasks.json")

    /// The directory holding `sergeant`, `sergeant-host` and `sergeant-worker` (SERGEANT_BIN or .build/debug).
    public static var binaries: URL {
        if let path = ProcessInfo.processInfo.environment["SERGEANT_BIN"] { return URL(fileURLWithPath: path) }
        return root.appendingPathComponent(".build/debug")
    }

    /// Where the repository's tools (sergeant-chaos, sergeant-soak) find `sergeant`, `sergeant-host`
    /// and `sergeant-worker` when no --bin is given: SERGEANT_BIN, else the running tool's own
    /// directory (SwiftPM builds them side by side).
    public static var toolBinaries: String {
        if let path = ProcessInfo.processInfo.environment["SERGEANT_BIN"] { return path }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }

    /// A built executable of this package. `sergeant-host` comes with the `sergeant-worker`
    /// beside it that its worker processes run.
    public static func executable(_ name: String) throws -> String {
        for needed in name == "sergeant-host" ? [name, "sergeant-worker"] : [name] {
            let path = binaries.appendingPathComponent(needed).path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw SupportError("\(path) is missing; run `make test` (it builds the executables first)")
            }
        }
        return binaries.appendingPathComponent(name).path
    }

    /// Where `make examples fixtures` builds every plugin package but the consumer example in one
    /// build (Tests/Plugins/Package.swift): their .so files and the web app's `web-app`.
    public static let pluginsBuild = root.appendingPathComponent("Tests/Plugins/.build/debug")

    /// The examples built in their own directory, exactly as a user builds a worker (`swift build`
    /// there), rather than in ``pluginsBuild``.
    public static let standaloneExamples: Set<String> = ["consumer"]

    /// The .so of example plugin `name` under Plugins-Examples (built by `make examples`): in its own
    /// package's .build for ``standaloneExamples``, in ``pluginsBuild`` for the others.
    public static func plugin(_ name: String, library: String? = nil) throws -> String {
        let file = "lib\(library ?? name).so"
        let path = standaloneExamples.contains(name)
            ? root.appendingPathComponent("Plugins-Examples/\(name)/.build/debug/\(file)").path
            : pluginsBuild.appendingPathComponent(file).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw SupportError("\(path) is missing; run `make examples` (make test does)")
        }
        return path
    }

    /// An executable of an example package (the web app's `web-app`), built by `make examples` into
    /// ``pluginsBuild``.
    public static func exampleExecutable(_ name: String) throws -> String {
        let path = pluginsBuild.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw SupportError("\(path) is missing; run `make examples` (make test does)")
        }
        return path
    }

    /// The Swift test fixture plugin package `name` under Tests/Fixtures (built by `make fixtures`
    /// into ``pluginsBuild``).
    public static func fixturePackage(_ name: String) throws -> String {
        let path = pluginsBuild.appendingPathComponent("lib\(name).so").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw SupportError("\(path) is missing; run `make fixtures` (make test does)")
        }
        return path
    }

    /// A test fixture plugin built by the Makefile into .build/fixtures.
    public static func fixture(_ name: String) throws -> String {
        let path = root.appendingPathComponent(".build/fixtures/\(name)").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw SupportError("\(path) is missing; run `make fixtures` (make test does)")
        }
        return path
    }
}
