import Foundation

// MARK: - IO-bound and concurrent producers sections

/// The io and producers sections of the table and their targets (issue 12): rates against
/// each row's own limit (io: N / 20 ms; producers: the raw round-trip loop) and against
/// Python's best row of the section, ratios of medians.
extension Report {
    private func sectionRows(_ section: String) -> [Row] { rows.filter { $0.section == section } }

    /// Tasks a second of a row's median; nil when every run failed.
    private func rate(_ row: Row?) -> Double? { row.flatMap { row in row.seconds.map { Double(row.tasks) / $0 } } }

    /// An IO-bound row's limit in tasks a second: N tasks at once, each 20 ms.
    private func ioLimit(_ row: Row) -> Double { Double(row.threads) * 1000 / Double(ioSleepMilliseconds) }

    private func bestPython(_ section: String) -> Row? {
        sectionRows(section).filter { $0.system == .python }.max { (rate($0) ?? 0) < (rate($1) ?? 0) }
    }

    private func sectionLine(_ name: String, _ row: Row, versus python: Row?, limit: Double?) -> String {
        guard let perSecond = rate(row), let seconds = row.seconds else {
            return pad(name, 60) + "failed: " + (row.errors.first?.split(separator: "\n").first.map(String.init) ?? "")
        }
        var text = pad(name, 60) + lpad(String(format: "%.3f", seconds), 9) + lpad(grouped(Int(perSecond)), 12)
        let versus = python.flatMap(rate).map { String(format: "%.2fx", perSecond / $0) } ?? ""
        text += lpad(versus, 12)
        text += lpad(limit.map { String(format: "%.0f%%", perSecond / $0 * 100) } ?? "", 10)
        text += lpad(row.peakKilobytes.map { String(format: "%.1f MB", Double($0) / 1024) } ?? "", 11)
        return text
    }

    /// The table lines of the io and producers sections (empty when they did not run).
    func ioSectionLines() -> [String] {
        var lines: [String] = []
        let header = pad("", 60) + lpad("seconds", 9) + lpad("tasks/s", 12) + lpad("x Py best", 12) + lpad("of limit", 10) + lpad("peak RSS", 11)
        let io = sectionRows("io")
        if !io.isEmpty {
            lines.append("")
            lines.append("io: \(grouped(io[0].tasks)) tasks that each wait \(ioSleepMilliseconds) ms (async: Task.sleep; threaded: usleep; "
                + "Python: time.sleep), one worker process, unpinned; of limit = tasks/s over N / \(ioSleepMilliseconds) ms "
                + "(N = max_concurrent_tasks or threads); x Py best = against Python's fastest io row; peak RSS of the worker")
            lines.append(header)
            let python = bestPython("io")
            for row in io { lines.append(sectionLine("  " + pad(row.system.rawValue, 9) + row.detail, row, versus: python, limit: ioLimit(row))) }
        }
        let producers = sectionRows("producers")
        if !producers.isEmpty {
            lines.append("")
            lines.append("producers: \(grouped(producers[0].tasks)) tasks pushed one by one, msgpack, unpinned; of limit = tasks/s over "
                + "the raw loop's (one RPUSH per round trip); peak RSS of the pushing process")
            lines.append(header)
            let python = bestPython("producers")
            let raw = rate(producers.first { $0.system == .limit })
            for row in producers {
                lines.append(sectionLine("  " + pad(row.system.rawValue, 9) + row.detail, row, versus: python, limit: raw))
            }
        }
        return lines
    }

    /// The target lines of issue 12 for the io and producers sections that ran.
    func ioTargets() -> [String] {
        var lines: [String] = []
        func add(_ target: String, _ measured: String, _ met: Bool) {
            lines.append("  " + pad(target, 48) + pad(measured, 50) + (met ? "met" : "missed"))
        }
        let io = sectionRows("io")
        if let async500 = io.first(where: { $0.system == .this && $0.detail.hasPrefix("async") && $0.threads == 500 }) {
            let perSecond = rate(async500)
            let limit = ioLimit(async500)
            add("io: async N = 500 >= 80% of N / 20 ms",
                perSecond.map { String(format: "%@ tasks/s of %@ (%.0f%%)", grouped(Int($0)), grouped(Int(limit)), $0 / limit * 100) } ?? "failed",
                (perSecond ?? 0) >= 0.8 * limit)
            let python = bestPython("io")
            let versus = perSecond.flatMap { ours in rate(python).map { ours / $0 } }
            add("io: async N = 500 >= 10x Python's best row",
                versus.map { String(format: "%.2fx (Python %@)", $0, python?.detail ?? "?") } ?? "?", (versus ?? 0) >= 10)
            let peak = async500.peakKilobytes
            add("io: async worker peak RSS < 20 MB", peak.map { String(format: "%.1f MB", Double($0) / 1024) } ?? "?",
                (peak ?? .max) < 20 * 1024)
        }
        let producers = sectionRows("producers")
        if let client = producers.first(where: { $0.system == .this }), let raw = producers.first(where: { $0.system == .limit }) {
            let versus = rate(client).flatMap { ours in rate(raw).map { ours / $0 } }
            add("producers: \(producerTasks) client tasks >= 5x the raw loop", versus.map { String(format: "%.2fx", $0) } ?? "?",
                (versus ?? 0) >= 5)
        }
        if !lines.isEmpty { lines.insert("targets (issue 12), io and producers rows of this run", at: 0) }
        return lines
    }
}
