import Foundation

// MARK: - ReportFile

/// The file the benchmark workers (Swift plugin and Python) append report lines to.
final class ReportFile {
    let path = NSTemporaryDirectory() + "sergeant-bench-report-\(UUID().uuidString).txt"

    struct Totals {
        var count: Int
        var first: Double
        var last: Double
        var peakKilobytes: Int
    }

    struct Lines {
        var ready: [Int: Double] = [:]
        var firstDone: [Int: Double] = [:]
        var latencies: [(pushed: Double, started: Double)] = []
        /// The last `done` line of each worker process.
        var done: [Int: Totals] = [:]
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func read() -> Lines {
        var lines = Lines()
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return lines }
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count >= 3, let pid = Int(words[1]) else { continue }
            switch words[0] {
            case "ready": lines.ready[pid] = Double(words[2])
            case "first_done": lines.firstDone[pid] = Double(words[2])
            case "latency" where words.count == 4:
                if let pushed = Double(words[2]), let started = Double(words[3]) { lines.latencies.append((pushed, started)) }
            case "done" where words.count == 6:
                if let count = Int(words[2]), let first = Double(words[3]), let last = Double(words[4]), let kb = Int(words[5]) {
                    lines.done[pid] = Totals(count: count, first: first, last: last, peakKilobytes: kb)
                }
            default: continue
            }
        }
        return lines
    }
}
