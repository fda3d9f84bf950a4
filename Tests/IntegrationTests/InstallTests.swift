import Foundation
import SergeantTestSupport
import XCTest

/// `make install`: the three executables work from the directory they are installed in, started
/// from any other directory (sergeant-host finds the sergeant-worker beside it).
final class InstallTests: XCTestCase {
    func testInstalledBinariesRunTheSeedFlowFromAnotherDirectory() throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-prefix-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: prefix) }
        // The copy step of `make install` (its build step would wait for this test's own build lock).
        let make = try ChildProcess.run(["/usr/bin/env", "make", "-C", ProjectPaths.root.path, "install-binaries",
                                         "PREFIX=\(prefix.path)", "INSTALL_CONFIGURATION=debug"], timeout: 60)
        XCTAssertEqual(make.code, 0, make.output)
        let bin = prefix.appendingPathComponent("bin")
        for name in ["sergeant", "sergeant-host", "sergeant-worker"] {
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent(name).path), name)
        }
        let server = try RedisServer()
        let plugin = try ProjectPaths.plugin("consumer")
        // From a directory with nothing in it, as a service would start them.
        let elsewhere = try ChildProcess.run(["/bin/sh", "-c", "cd / && exec \"$0\" push --worker-module=\"$1\" --worker-class=Worker --kwargs '{\"some_parameter\": \"one\"}'",
                                              bin.appendingPathComponent("sergeant").path, plugin], environment: ["SERGEANT_REDIS": server.url])
        XCTAssertEqual(elsewhere.code, 0, elsewhere.output)
        let supervisor = try ChildProcess(["/bin/sh", "-c", "cd / && exec \"$0\" --worker-module=\"$1\" --worker-class=Worker",
                                           bin.appendingPathComponent("sergeant-host").path, plugin], environment: ["SERGEANT_REDIS": server.url])
        try waitUntil(timeout: 30, "the installed worker to run the task") {
            supervisor.output.contains("task parameters are: {'some_parameter': 'one'}")
        }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
    }
}
