import Foundation
import SergeantCore
import SergeantTestSupport
import XCTest

/// The base of the interop tests: a private redis-server (or several), Python sergeant 0.27
/// from `.venv-sergeant/` running the scripts of Tests/Interop, and the real `sergeant`,
/// `sergeant-host` and `Plugins-Examples/interop` plugin on the Swift side.
///
/// Without the venv the tests are skipped on a developer's machine (`make test` creates it
/// through `make interop-deps`), and fail in CI (CI is set), where it must exist.
class InteropTestCase: XCTestCase {
    var servers: [RedisServer] = []
    var directory: URL!
    private var processes: [ChildProcess] = []

    var server: RedisServer { servers[0] }

    /// The Python of the venv.
    static let python = ProjectPaths.root.appendingPathComponent(".venv-sergeant/bin/python").path

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            let message = "\(Self.python) is missing; run `make interop-deps` (scripts/python-venv.sh)"
            // In CI the venv must exist: a thrown error fails the test.
            if ProcessInfo.processInfo.environment["CI"] != nil { throw InteropError(message) }
            throw XCTSkip(message)
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-interop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        servers = [try RedisServer()]
    }

    override func tearDown() {
        // Supervisors first, with SIGTERM so that they stop their workers.
        for process in processes.reversed() where process.isRunning {
            process.signal(SIGTERM)
            if process.wait(timeout: 30) == nil {
                process.signal(SIGKILL)
                process.wait(timeout: 10)
            }
        }
        processes = []
        servers = []
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    // MARK: Files

    /// A path in the test's private directory.
    func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// Writes `lines`, one per line.
    func write(_ lines: [String], to name: String) throws -> String {
        let file = path(name)
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The lines of a file (none when it does not exist yet).
    func lines(_ file: String) -> [Substring] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        // Complete lines only: a record being written (a page of it on disk, the rest not yet)
        // is not a line until its newline is there.
        let complete = text.hasSuffix("\n") ? Substring(text) : text[..<(text.lastIndex(of: "\n") ?? text.startIndex)]
        return complete.split(separator: "\n").filter { !$0.isEmpty }
    }

    // MARK: Connection settings

    /// Redis URLs of every server, in order: both sides get the same node list.
    var redisURLs: String { servers.map(\.url).joined(separator: ",") }

    /// The Swift side's environment: the plugin reads the INTEROP_ variables; with one server
    /// the host's SERGEANT_REDIS names it too, with several it is empty so that the plugin's
    /// node list counts.
    func swiftEnvironment(queue: String, compressor: String, output: String? = nil,
                          extra: [String: String] = [:]) -> [String: String] {
        var environment = ["INTEROP_QUEUE": queue, "INTEROP_COMPRESSOR": compressor, "INTEROP_REDIS": redisURLs,
                           "SERGEANT_REDIS": servers.count == 1 ? server.url : ""]
        if let output { environment["INTEROP_OUTPUT"] = output }
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// Arguments every Python script takes.
    func pythonConnection(queue: String, compressor: String) -> [String] {
        ["--redis", redisURLs, "--compressor", compressor, "--queue", queue]
    }

    // MARK: Processes

    /// Starts a Python script of Tests/Interop; it is stopped at the end of the test.
    /// `deadline`: seconds after which the script ends itself (exit code 3).
    func startPython(_ script: String, _ arguments: [String], deadline: Double = 120) throws -> ChildProcess {
        let scriptPath = ProjectPaths.root.appendingPathComponent("Tests/Interop/\(script)").path
        let process = try ChildProcess([Self.python, scriptPath, "--deadline", String(deadline)] + arguments,
                                       environment: ["PYTHONDONTWRITEBYTECODE": "1"])
        processes.append(process)
        return process
    }

    /// Runs a Python script to its end and fails the test unless it exits 0.
    @discardableResult
    func runPython(_ script: String, _ arguments: [String], timeout: Double = 60,
                   file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let process = try startPython(script, arguments, deadline: timeout)
        let code = process.wait(timeout: timeout + 10)
        XCTAssertEqual(code, 0, "\(script) \(arguments.joined(separator: " ")):\n\(process.output)", file: file, line: line)
        return process.output
    }

    /// Starts `sergeant-host` on the interop plugin's `workerClass`; stopped at the end of the test.
    func startHost(_ workerClass: String, environment: [String: String], workers: Int = 1) throws -> ChildProcess {
        let process = try ChildProcess([try ProjectPaths.executable("sergeant-host"),
                                        "--worker-module=\(try ProjectPaths.plugin("interop"))",
                                        "--worker-class=\(workerClass)", "--concurrent-workers=\(workers)"],
                                       environment: environment)
        processes.append(process)
        return process
    }

    /// Stops a supervisor with SIGTERM and expects a clean exit.
    func stop(_ process: ChildProcess, file: StaticString = #filePath, line: UInt = #line) {
        process.signal(SIGTERM)
        XCTAssertEqual(process.wait(timeout: 30), 0, process.output, file: file, line: line)
    }

    /// Runs `sergeant push` with the interop plugin's configuration.
    func swiftPush(_ workerClass: String = "Worker", kwargs: [String], environment: [String: String],
                   extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push",
                                           "--worker-module=\(try ProjectPaths.plugin("interop"))",
                                           "--worker-class=\(workerClass)"] + kwargs.flatMap { ["--kwargs", $0] } + extra,
                                          environment: environment)
        XCTAssertEqual(result.code, 0, result.output, file: file, line: line)
    }

    // MARK: Records

    /// The records the Swift plugin wrote: each line is the hex of a msgpack map.
    func swiftRecords(_ file: String) throws -> [Value] {
        try lines(file).map { line in
            guard let encoded = decodeHex(line) else { throw InteropError("not hex: \(line)") }
            return try MessagePack.decode(encoded)
        }
    }

    /// The records a Python script wrote: JSON objects, one per line.
    func pythonRecords(_ file: String) throws -> [Value] {
        try lines(file).map { try Value(json: String($0)) }
    }

    /// Waits until `file` holds `count` records (Swift's or Python's lines) and returns them.
    func waitForLines(_ file: String, count: Int, timeout: Double = 60, _ what: String, process: ChildProcess? = nil) throws -> [Substring] {
        do {
            try waitUntil(timeout: timeout, "\(count) \(what)") {
                if let process, !process.isRunning, lines(file).count < count {
                    throw InteropError("the process ended early:\n\(process.output)")
                }
                return lines(file).count >= count
            }
        } catch {
            throw InteropError("\(error); output so far:\n\(process?.output ?? "")")
        }
        return lines(file)
    }

    /// The kwargs a Python worker record holds.
    func pythonKwargs(_ record: Value) throws -> PythonValue {
        try PythonValue(typed: try XCTUnwrap(record["kwargs"], "no kwargs in \(record)"))
    }

    /// `redis-cli`-like reply of server `index` to one command.
    func reply(_ index: Int, _ words: String...) throws -> String {
        let server = servers[index]
        switch words.count {
        case 1: return try server.command(words[0])
        case 2: return try server.command(words[0], words[1])
        case 3: return try server.command(words[0], words[1], words[2])
        default: throw InteropError("reply takes up to 3 words")
        }
    }
}
