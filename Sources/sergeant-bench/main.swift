import ArgumentParser
import Foundation
import Logging
import SergeantBroker
import SergeantCore
import SergeantTestSupport

// MARK: - sergeant-bench

/// Measures push and consume throughput against a private redis-server and prints a table.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sergeant-bench",
        abstract: "Benchmark sergeant for Swift: push one by one, push in bulk, consume 1 and 1,000 per transaction."
    )

    @Option(help: "Tasks per row.")
    var tasks = 100_000

    @Option(help: "Runs per row; the table shows the median.")
    var runs = 3

    @Option(help: "Directory holding the release sergeant-host.")
    var bin = ".build/release"

    @Option(help: "The benchmark plugin.")
    var plugin = "Plugins-Examples/benchmark/.build/release/libbenchmark.so"

    @Option(help: "Write the table as CSV here too.")
    var csv: String?

    func run() throws {
        let server = try RedisServer()
        let logger = Logger(label: "bench") { SergeantLogHandler(label: $0, level: .error) }
        let broker = Broker(connector: RedisConnector(nodes: [server.node], logger: logger), encoder: TaskEncoder())
        let kwargs: ValueMap = ["some_parameter": "one"]
        var rows: [(String, Double)] = []

        func measure(_ name: String, _ body: () throws -> Double) rethrows {
            var samples: [Double] = []
            for _ in 0..<runs { samples.append(try body()) }
            rows.append((name, samples.sorted()[samples.count / 2]))
            print("  \(name): \(samples.map { String(format: "%.3f", $0) }.joined(separator: ", ")) s")
        }

        try measure("push one by one") {
            try broker.purge(queue: "benchmark")
            let start = unixTime()
            for _ in 0..<tasks { try broker.push(tasks: [SergeantTask(kwargs: kwargs)], queue: "benchmark") }
            return unixTime() - start
        }
        try measure("push in bulk (one call)") {
            try broker.purge(queue: "benchmark")
            let start = unixTime()
            try broker.push(tasks: (0..<tasks).map { _ in SergeantTask(kwargs: kwargs) }, queue: "benchmark")
            return unixTime() - start
        }
        for perTransaction in [1, 1000] {
            try measure("consume \(perTransaction) per transaction") {
                try broker.purge(queue: "benchmark")
                try broker.push(tasks: (0..<tasks).map { _ in SergeantTask(kwargs: kwargs) }, queue: "benchmark")
                return try consume(perTransaction: perTransaction, server: server)
            }
        }

        print("\n\(tasks) tasks per row, median of \(runs) runs, msgpack, no compressor, one redis-server on loopback\n")
        print(pad("row", 32) + pad("seconds", 10) + "tasks/s")
        print(String(repeating: "-", count: 54))
        for (name, seconds) in rows {
            print(pad(name, 32) + pad(String(format: "%.3f", seconds), 10) + String(Int(Double(tasks) / seconds)))
        }
        if let csv {
            let text = "row,seconds,tasks_per_second\n" + rows.map { "\($0.0),\($0.1),\(Double(tasks) / $0.1)" }.joined(separator: "\n") + "\n"
            try text.write(toFile: csv, atomically: true, encoding: .utf8)
        }
    }

    /// Runs the real sergeant-host with the benchmark plugin until it has worked `tasks` tasks.
    func consume(perTransaction: Int, server: RedisServer) throws -> Double {
        let host = try ChildProcess([bin + "/sergeant-host", "--worker-module=\(plugin)", "--worker-class=Worker"],
                                    environment: ["SERGEANT_REDIS": server.url, "BENCH_TASKS": String(tasks),
                                                  "BENCH_TASKS_PER_TRANSACTION": String(perTransaction)])
        defer {
            host.signal(SIGTERM)
            host.wait(timeout: 30)
        }
        var seconds: Double?
        try waitUntil(timeout: 600, "the benchmark worker to finish") {
            guard let line = host.output.split(separator: "\n").first(where: { $0.contains("benchmark: ") }) else { return false }
            let words = line.split(separator: " ")
            guard let index = words.firstIndex(of: "in"), index + 1 < words.count else { return false }
            seconds = Double(words[index + 1])
            return true
        }
        return try seconds ?? { throw SupportError("no timing in the worker's output:\n\(host.output)") }()
    }

    func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
