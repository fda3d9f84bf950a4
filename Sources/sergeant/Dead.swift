import ArgumentParser
import SergeantBroker
import SergeantCore

// MARK: - dead

struct Dead: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect, replay or drop the tasks set aside in NAME.dead (undecodable or poison tasks).",
        subcommands: [List.self, Requeue.self, Drop.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Print the set-aside tasks with why.")

        @OptionGroup var worker: WorkerOptions

        @Option(help: "Print at most this many.")
        var limit = 100

        func run() throws {
            try reporting {
                let (broker, queue) = try worker.open()
                let letters = try brokerCall { () throws(BrokerError) in try broker.deadLetterEntries(queue: queue, limit: limit) }
                for entry in letters {
                    switch entry.letter {
                    case .success(let letter):
                        let readable = (try? broker.encoder.decode(letter.task)).map { "kwargs=\($0.kwargs) run_count=\($0.runCount)" }
                            ?? "\(letter.task.count) bytes"
                        print("#\(entry.index) \(letter.reason) | \(readable)")
                    case .failure(let error):
                        print("#\(entry.index) (unreadable entry: \(error.message))")
                    }
                }
                let total = try brokerCall { () throws(BrokerError) in try broker.deadLetterCount(queue: queue) }
                print("\(letters.count) of \(total) task(s) in \(broker.keys(queue).dead)")
            }
        }
    }

    struct Requeue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "requeue",
            abstract: "Move every set-aside task back to the queue (their bytes unchanged), atomically in batches.",
            discussion: "An entry that cannot be read stays in NAME.dead, with the reason. Interrupting the command loses nothing."
                + " With --entry N only entry #N of `sergeant dead list` moves, in one atomic step.")

        @OptionGroup var worker: WorkerOptions

        @Option(name: .customLong("entry"), help: "Only this entry: its # in `sergeant dead list` (0 is the head).")
        var entry: Int?

        func run() throws {
            try reporting {
                let (broker, queue) = try worker.open()
                if let entry {
                    try actOnEntry(entry, broker: broker, queue: queue, requeue: true)
                    return
                }
                let (requeued, kept) = try brokerCall { () throws(BrokerError) in try broker.requeueDeadLetters(queue: queue) }
                print("requeued \(requeued) task(s) to \(queue)")
                if kept > 0 { print("\(kept) unreadable entr\(kept == 1 ? "y stays" : "ies stay") in \(broker.keys(queue).dead), with the reason") }
            }
        }
    }

    struct Drop: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "purge", abstract: "Delete every set-aside task (or, with --entry N, entry #N only).")

        @OptionGroup var worker: WorkerOptions

        @Option(name: .customLong("entry"), help: "Only this entry: its # in `sergeant dead list` (0 is the head).")
        var entry: Int?

        func run() throws {
            try reporting {
                let (broker, queue) = try worker.open()
                if let entry {
                    try actOnEntry(entry, broker: broker, queue: queue, requeue: false)
                    return
                }
                let existed = try brokerCall { () throws(BrokerError) in try broker.purgeDeadLetters(queue: queue) }
                print(existed ? "purged \(broker.keys(queue).dead)" : "\(broker.keys(queue).dead) was already empty")
            }
        }
    }
}

/// Requeues or drops entry #`index` of the queue's dead list, and says what happened; fails
/// (exit 1) when there is no such entry or it cannot be requeued.
func actOnEntry(_ index: Int, broker: Broker, queue: String, requeue: Bool) throws {
    let dead = broker.keys(queue).dead
    guard index >= 0 else { throw CommandFailure(message: "--entry \(index) is not an entry: give the # that `sergeant dead list` prints (0 or more)", code: 1) }
    let entries = try brokerCall { () throws(BrokerError) in try broker.deadLetterEntries(queue: queue, limit: index + 1) }
    guard index < entries.count else {
        throw CommandFailure(message: "\(dead) has \(entries.count) entr\(entries.count == 1 ? "y" : "ies"): there is no #\(index) (see `sergeant dead list`)", code: 1)
    }
    let result = try brokerCall { () throws(BrokerError) in
        try requeue ? broker.requeueDeadLetter(entries[index], queue: queue) : broker.dropDeadLetter(entries[index], queue: queue)
    }
    switch result {
    case .done: print(requeue ? "requeued entry #\(index) of \(dead) to \(queue)" : "purged entry #\(index) of \(dead)")
    case .gone: throw CommandFailure(message: "entry #\(index) of \(dead) went away while this ran (requeued or purged by someone else)", code: 1)
    case .unreadable(let why):
        throw CommandFailure(message: "entry #\(index) of \(dead) holds no readable task (\(why)): purge it with `sergeant dead purge --entry \(index)`", code: 1)
    }
}
