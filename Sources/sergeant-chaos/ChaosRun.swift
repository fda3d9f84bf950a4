import Foundation
import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantTestSupport

// MARK: - ChaosRun

/// One fault-injection run: set up, push, run and break things, drain, report, clean up.
final class ChaosRun {
    let settings: ChaosSettings
    var random: SplitMix64
    let started = unixTime()
    let directory: String
    let dataDirectory: String
    let outputPath: String
    let marker: String
    var port = 0
    var redis: RedisServer?
    /// The master, replica and sentinels of a `--broker sentinel` run.
    var group: SentinelGroup?
    var redisStarts = 0
    var host: ChildProcess?
    var hostStarts = 0
    var unexpectedHostExits = 0
    var status: RedisConnection?
    /// The local run's own connection to the workers' SQLite file.
    var local: LocalConnector?
    /// The cluster of a `--broker cluster` run, and the run's own connector to it.
    var cluster: RedisCluster?
    var clusterConnector: RedisClusterConnector?
    let tally: OutputTally
    var faults: [FaultRecord] = []
    var frontierSamples: [(time: Double, highest: Int)] = []
    var anomalies: [String] = []
    /// Size of the AOF when each redis restart stopped the server.
    var restartOffsets: [Int] = []
    var drained = false
    var setupFailure: String?
    let quiet = Logger(label: "sergeant-chaos") { _ in SwiftLogNoOpLogHandler() }

    init(_ settings: ChaosSettings) {
        self.settings = settings
        random = SplitMix64(seed: settings.seed)
        directory = settings.workDir ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("sergeant-chaos-\(getpid())-\(UUID().uuidString.prefix(8))").path
        dataDirectory = directory + "/redis"
        outputPath = directory + "/output.txt"
        marker = "\(settings.seed)-\(UUID().uuidString)"
        tally = OutputTally(path: outputPath, total: settings.tasks)
    }

    var queue: String { settings.queue }
    /// The workers' `--redis` of a cluster run: every node a seed, 3 shards.
    var clusterURL: String { cluster?.url(query: "shards=3" + (settings.durability == "acknowledged" ? "" : "&durability=\(settings.durability)")) ?? "" }
    var elapsed: Double { unixTime() - started }
    var deadline: Double { started + settings.timeout }
    var hostEnvironmentToken: String { "CHAOS_OUTPUT=\(outputPath)" }

    func say(_ line: String) {
        print(String(format: "[%7.2fs] ", elapsed) + line)
        fflush(nil)
    }

    /// Runs everything and returns the exit code.
    func execute() -> Int32 {
        let broker = isLocal ? "" : " (\(settings.broker.rawValue), durability \(settings.durability))"
        print("sergeant-chaos: seed \(settings.seed) (repeat with --seed \(settings.seed)); connector \(settings.connector)\(broker); tasks \(settings.tasks) + 1 poison,"
              + " \(settings.workers) workers, batch \(settings.batch),"
              + (settings.concurrentTasks > 0 ? " async executor with \(settings.concurrentTasks) tasks in flight per worker," : "")
              + " up to \(settings.maxFaults) faults every"
              + " \(settings.minInterval)-\(settings.maxInterval) s, timeout \(Int(settings.timeout)) s")
        print("work directory: \(directory)")
        fflush(nil)
        do {
            try setUp()
            try pushTasks()
            try startHost()
            try waitForFirstOutput()
            injectFaults()
            waitUntilDrained()
            stopHost()
        } catch {
            setupFailure = "\(error)"
            say("run aborted: \(error)")
        }
        let code = report()
        cleanUp(success: code == 0)
        return code
    }

    // MARK: Set-up

    private func setUp() throws {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: outputPath, contents: nil) else {
            throw SetupError("cannot create \(outputPath)")
        }
        for name in ["sergeant", "sergeant-host", "sergeant-worker"] where !FileManager.default.isExecutableFile(atPath: "\(settings.bin)/\(name)") {
            throw SetupError("\(settings.bin)/\(name) is missing; build it first (make chaos does)")
        }
        guard FileManager.default.fileExists(atPath: settings.plugin) else {
            throw SetupError("\(settings.plugin) is missing; build it with `swift build --package-path Tests/Fixtures/chaos`")
        }
        if isLocal {
            local = try LocalConnector(filePath: localFile)
            return
        }
        if settings.broker == .cluster {
            let cluster = try RedisCluster()
            self.cluster = cluster
            clusterConnector = RedisClusterConnector(node: RedisNode(url: clusterURL)!, logger: quiet, reconnectTimeout: 20)
            say("redis cluster: \(try cluster.masters().count) masters, \(cluster.servers.count) nodes; the queue has 3 shards")
            return
        }
        if settings.broker == .sentinel {
            group = try SentinelGroup()
        } else {
            port = try freePort()
            try startRedis()
        }
        // Through the sentinels, it follows the master across failovers.
        status = RedisConnection(node: redisNode, logger: quiet, reconnectTimeout: 20)
        guard case .status("OK") = try command("SET", "\(queue).chaos-marker", marker) else {
            throw SetupError("cannot write to redis-server")
        }
    }

    /// Starts redis-server, or starts it again after a restart's stop: same port, same data
    /// directory, one redis-N.log per start.
    func startRedis() throws {
        redisStarts += 1
        let output = "\(directory)/redis-\(redisStarts).log"
        if let redis {
            try redis.start(output: output)
            return
        }
        // One growing AOF (no rewrites), so lost tasks can be traced through it.
        let options = RedisServer.Options(port: port, directory: URL(fileURLWithPath: dataDirectory), appendOnly: true,
                                          rewritesAppendOnlyFile: false, startTimeout: 30)
        redis = try RedisServer(options: options, output: output)
    }

    /// The URL the workers and the producers are given (SERGEANT_REDIS).
    var redisURL: String {
        guard let group else { return "redis://127.0.0.1:\(port)/0" }
        return group.url(durability: settings.durability == "acknowledged" ? nil : settings.durability)
    }

    /// The node of ``redisURL``.
    var redisNode: RedisNode { RedisNode(url: redisURL)! }

    func command(_ words: String...) throws -> RedisReply {
        guard let status else { throw SetupError("no redis connection") }
        return try status.command(words.map { Array($0.utf8) })
    }

    func integer(_ words: String...) -> Int? {
        guard let status, case .integer(let value) = try? status.command(words.map { Array($0.utf8) }) else { return nil }
        return Int(value)
    }

    private func pushTasks() throws {
        let cluster: (any QueueConnector)? = clusterConnector
        let connector: any QueueConnector = local ?? cluster ?? RedisConnector(nodes: [redisNode], logger: quiet)
        let broker = Broker(connector: connector, encoder: EncoderConfig().taskEncoder)
        _ = try broker.purge(queue: queue)
        // The poison task goes somewhere in the middle, through the real producer CLI.
        let poisonAfter = Int.random(in: settings.tasks / 3...max(settings.tasks / 3, 2 * settings.tasks / 3), using: &random)
        func pushNumbers(_ range: ClosedRange<Int>) throws {
            var next = range.lowerBound
            while next <= range.upperBound {
                let last = min(next + 999, range.upperBound)
                try broker.push(tasks: (next...last).map { SergeantTask(kwargs: ["n": .int(Int64($0))]) }, queue: queue)
                next = last + 1
            }
        }
        if poisonAfter >= 1 { try pushNumbers(1...poisonAfter) }
        let producer = try ChildProcess([settings.bin + "/sergeant", "push", "--worker-module=\(settings.plugin)",
                                         "--worker-class=ChaosWorker", "--kwargs", #"{"poison": true}"#],
                                        environment: hostEnvironment(), output: "\(directory)/push.log")
        let code = producer.wait(timeout: 60)
        guard code == 0 else {
            throw SetupError("sergeant push of the poison task failed (\(code.map(String.init) ?? "timed out")): \(producer.output)")
        }
        if poisonAfter < settings.tasks { try pushNumbers(poisonAfter + 1...settings.tasks) }
        let queued = length(queue) ?? -1
        guard queued == settings.tasks + 1 else { throw SetupError("pushed \(settings.tasks + 1) tasks but the queue holds \(queued)") }
        say("pushed \(settings.tasks) numbered tasks and the poison task (after task \(poisonAfter)) to \(queue) \(isLocal ? "in \(localFile)" : group == nil ? "on port \(port)" : "through \(redisURL)")")
    }

    private func hostEnvironment() -> [String: String] {
        var environment = ["CHAOS_QUEUE": queue, "CHAOS_BATCH": String(settings.batch), "CHAOS_ASYNC": String(settings.concurrentTasks),
                           "CHAOS_OUTPUT": outputPath]
        if isLocal {
            environment["CHAOS_LOCAL_FILE"] = localFile
        } else if cluster != nil {
            environment["SERGEANT_REDIS"] = clusterURL
        } else {
            environment["SERGEANT_REDIS"] = redisURL
        }
        return environment
    }

    func startHost() throws {
        hostStarts += 1
        host = try ChildProcess([settings.bin + "/sergeant-host", "--worker-module=\(settings.plugin)", "--worker-class=ChaosWorker",
                                 "--concurrent-workers=\(settings.workers)"],
                                environment: hostEnvironment(), output: "\(directory)/host-\(hostStarts).log")
    }

    private func waitForFirstOutput() throws {
        let limit = unixTime() + 60
        while tally.lines == 0 {
            guard !interrupted else { throw SetupError("interrupted") }
            guard unixTime() < limit else { throw SetupError("no task ran within 60 s of starting sergeant-host; see \(host?.outputPath ?? "")") }
            if let host, !host.isRunning {
                throw SetupError("sergeant-host exited at start with code \(host.wait(timeout: 1) ?? -1):\n\(host.output)")
            }
            pause(seconds: 0.02)
            tally.update()
        }
        say("workers are running (sergeant-host pid \(host?.pid ?? 0))")
    }
}
