import Foundation

// MARK: - Rows

/// Who did the work in a row.
enum System: String {
    /// sergeant for Swift: the release sergeant-host with the benchmark plugin.
    case this
    /// Python sergeant 0.27 from PyPI.
    case python
    /// No framework: a bare hiredis loop or redis-benchmark.
    case limit
    /// Sidekiq (Ruby, Debian's ruby-sidekiq).
    case sidekiq
    /// RQ (Python, PyPI).
    case rq
    /// Dramatiq (Python, PyPI).
    case dramatiq

    /// The other task queues measured beside this project and Python sergeant.
    static let peers: [System] = [.sidekiq, .rq, .dramatiq]

    /// The systems this project's rows are compared with, one table column each.
    static let compared: [System] = [.python] + peers

    var isPeer: Bool { Self.peers.contains(self) }

    /// The name in the table's column headers.
    var title: String {
        switch self {
        case .this: "this"
        case .python: "Python"
        case .limit: "limit"
        case .sidekiq: "Sidekiq"
        case .rq: "RQ"
        case .dramatiq: "Dramatiq"
        }
    }
}

/// What a row measures.
enum Kind: String {
    case pushOne = "push one by one"
    case pushBulk = "push in bulk (one call)"
    case consumeOne = "consume 1 per transaction"
    case consumeBatch = "consume 1000 per transaction"

    /// Single rows make one round trip per task; they are pinned to one core.
    var isSingle: Bool { self == .pushOne || self == .consumeOne }
}

/// One measurement: seconds and the peak RSS of the process that did the work.
struct Sample {
    var seconds: Double
    var peakKilobytes: Int?
}

/// A row of the table: how to measure it and what was measured.
final class Row {
    let section: String
    let kind: Kind
    let system: System
    let compressor: String?
    let atLeastOnce: Bool?
    let workers: Int
    let threads: Int
    let nodes: Int
    /// Free text for limit, peer and scaling rows.
    let detail: String
    /// Tasks of one sample (peers run fewer than the other rows: ratios compare seconds per task).
    let tasks: Int
    let measure: () throws -> Sample
    var samples: [Sample] = []
    var errors: [String] = []
    /// Instructions per task of the working process, counted by callgrind (`--callgrind`).
    var instructionsPerTask: Double?
    /// Why the callgrind count failed.
    var callgrindError: String?

    init(section: String, kind: Kind, system: System, compressor: String? = nil, atLeastOnce: Bool? = nil,
         workers: Int = 1, threads: Int = 1, nodes: Int = 1, detail: String = "", tasks: Int,
         measure: @escaping () throws -> Sample) {
        self.section = section
        self.kind = kind
        self.system = system
        self.compressor = compressor
        self.atLeastOnce = atLeastOnce
        self.workers = workers
        self.threads = threads
        self.nodes = nodes
        self.detail = detail
        self.tasks = tasks
        self.measure = measure
    }

    var pinned: Bool { section == "main" && kind.isSingle }

    /// `msgpack` or `msgpack+zlib`.
    var encoding: String { compressor.map { $0 == "none" ? "msgpack" : "msgpack+\($0)" } ?? "" }

    /// The label in progress lines and the table.
    var label: String {
        if ["scaling", "io", "producers"].contains(section) { return "\(system.rawValue) \(detail)" }
        var words = [kind.rawValue, system.rawValue]
        if system == .limit || system.isPeer { words.append(detail) } else { words.append(encoding) }
        if section == "tls" { words.append(detail) }
        if let atLeastOnce { words.append(atLeastOnce ? "at-least-once" : "at-most-once") }
        return words.joined(separator: " | ")
    }

    /// Median seconds; nil when every run failed.
    var seconds: Double? { median(samples.map(\.seconds)) }

    /// Median seconds per task.
    var secondsPerTask: Double? { seconds.map { $0 / Double(tasks) } }

    /// Median peak RSS in kB.
    var peakKilobytes: Int? {
        let values = samples.compactMap(\.peakKilobytes).map(Double.init)
        return median(values).map { Int($0) }
    }
}

/// A measurement that is not a throughput row: start-up time or latency.
struct Extra {
    var section: String
    var label: String
    var system: System
    /// Median, in seconds.
    var median: Double = 0
    /// 99th percentile, in seconds (latency), or another figure's value (start-up).
    var p99: Double?
    var samples = 0
    var note = ""
    var error: String?

    var summary: String {
        if let error { return "FAILED: \(error)" }
        var text = "median \(milliseconds(median))"
        if let p99 { text += ", p99 \(milliseconds(p99))" }
        text += " (\(samples) samples)"
        if !note.isEmpty { text += "; \(note)" }
        return text
    }
}

func milliseconds(_ seconds: Double) -> String {
    seconds >= 0.1 ? String(format: "%.0f ms", seconds * 1000) : String(format: "%.2f ms", seconds * 1000)
}

/// The median of `values`; nil when empty.
func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// The nearest-rank percentile `p` (0...100) of `values`.
func percentile(_ values: [Double], _ p: Double) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}
