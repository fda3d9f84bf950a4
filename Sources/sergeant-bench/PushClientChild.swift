import ArgumentParser
import Dispatch
import Foundation
import SergeantClient
import SergeantCore
import Synchronization

// MARK: - push-client (the producer process of the concurrent producers rows)

/// Pushes tasks one by one from many Swift tasks at once through one ``SergeantClient``, in a
/// process of its own so that its peak RSS can be read; prints `seconds S vmhwm_kb K`.
struct PushClientChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "push-client",
                                                    abstract: "Time concurrent SergeantClient pushes (used by the benchmark).")

    @Option(help: "Redis port on 127.0.0.1.")
    var port: Int

    @Option(help: "Tasks to push in all.")
    var tasks = 100_000

    @Option(help: "Swift tasks pushing at once, each its share one by one.")
    var producers = 100

    func validate() throws {
        guard tasks >= 1, producers >= 1 else { throw ValidationError("--tasks and --producers must be at least 1") }
    }

    func run() throws {
        let client = try SergeantClient(location: .redis([RedisNode(host: "127.0.0.1", port: port)]))
        defer { client.close() }
        let queue = client.queue(benchQueue)
        let (tasks, producers) = (tasks, producers)
        let outcome = Mutex<(seconds: Double, error: String?)>((0, nil))
        let finished = DispatchSemaphore(value: 0)
        Task {
            do {
                _ = try await queue.purge()  // also connects, outside the timed span
                let start = unixTime()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<producers {
                        let share = tasks / producers + (index < tasks % producers ? 1 : 0)
                        group.addTask {
                            for _ in 0..<share { try await queue.push(kwargs: benchKwargs) }
                        }
                    }
                    try await group.waitForAll()
                }
                let seconds = unixTime() - start
                outcome.withLock { $0.seconds = seconds }
            } catch {
                outcome.withLock { $0.error = "\(error)" }
            }
            finished.signal()
        }
        finished.wait()
        let (seconds, failure) = outcome.withLock { $0 }
        if let failure { throw ValidationError("a push failed: \(failure)") }
        let stored = try client.queue(benchQueue).blocking.count()
        guard stored == tasks else { throw ValidationError("pushed \(tasks) tasks but the queue holds \(stored)") }
        print("seconds \(seconds) vmhwm_kb \(peakResidentKilobytes())")
    }
}
