import SergeantBroker
import SergeantCore

// MARK: - StatsTable

/// The text form of a ``FleetSnapshot`` that `sergeant stats` prints: per queue its depth,
/// its counters (totals, last minute, per minute), what is in flight and its workers.
struct StatsTable {
    let snapshot: FleetSnapshot

    init(_ snapshot: FleetSnapshot) {
        self.snapshot = snapshot
    }

    func render() -> String {
        var out = "sergeant stats: \(snapshot.queues.count) queue(s) on \(snapshot.connector), at \(Self.clock(snapshot.takenAt)) UTC\n"
        if snapshot.queues.isEmpty { out += "no live workers have published a queue; name one with --task-name\n" }
        for queue in snapshot.queues { out += "\n" + render(queue) }
        return out
    }

    func render(_ queue: QueueStats) -> String {
        var out = "queue \(queue.name)\n"
        let delayed = queue.delayedDue.map { "\($0) due / " } ?? ""
        out += "  waiting \(queue.waiting)   delayed \(delayed)\(Self.text(queue.delayedLater)) not yet"
            + "   in flight \(Self.text(queue.inFlightTotal))   timed out \(Self.text(queue.timedOut))   dead \(Self.text(queue.dead))\n"
        if let totals = queue.totals, let minute = queue.lastMinute, let window = queue.rateWindow {
            var rows = [["counter", "total", "last \(Int(window)) s", "per min"]]
            for field in OutcomeCounts.fields {
                let recent = minute[keyPath: field.path]
                rows.append([field.name, String(totals[keyPath: field.path]), String(recent),
                             Self.decimal(Double(recent) * 60 / max(window, 1))])
            }
            out += Self.table(rows, indent: "  ")
        } else {
            out += "  counters: n/a (the \(snapshot.connector) connector keeps none)\n"
        }
        if let inFlight = queue.inFlight, !inFlight.isEmpty {
            out += "  in flight:\n"
            for entry in inFlight {
                out += "    \(entry.worker): \(entry.count) task(s), oldest \(entry.oldestAge.map { Self.duration($0) } ?? "unknown (no record)")\n"
            }
        }
        guard let workers = queue.workers else {
            out += "  workers: n/a\n"
            return out
        }
        if workers.isEmpty {
            out += "  workers: none live\n"
            return out
        }
        var rows = [["host", "pid", "executor", "started", "tasks", "running", "rss", "state"]]
        for status in workers {
            guard let record = status.record else {
                rows.append(["?", "?", "?", "?", "?", "?", "?", "STALE: \(status.stale ?? "") (\(status.worker))"])
                continue
            }
            let running = record.running.map { "\($0.traceID ?? "task") for \(Self.duration(snapshot.takenAt - $0.since))" } ?? "idle"
            rows.append([record.hostName, String(record.pid), record.executor, Self.clock(record.startedAt), String(record.tasksDone),
                         running, Self.bytes(record.residentBytes), status.stale.map { "STALE: \($0)" } ?? "live"])
        }
        out += "  workers:\n" + Self.table(rows, indent: "    ")
        return out
    }

    // MARK: Formatting

    static func text(_ value: Int?) -> String { value.map(String.init) ?? "n/a" }

    static func table(_ rows: [[String]], indent: String) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            indent + row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 || column == row.count - 1 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func decimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 60 ? decimal(max(0, seconds)) + " s" : "\(Int(seconds) / 60) min \(Int(seconds) % 60) s"
    }

    static func bytes(_ count: Int) -> String {
        count <= 0 ? "n/a" : decimal(Double(count) / 1_048_576) + " MiB"
    }

    /// `YYYY-MM-DD HH:MM:SS` of a unix time, in UTC.
    static func clock(_ time: Double) -> String {
        let days = Int((time / 86_400).rounded(.down))
        let second = Int(time) - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(second / 3600)):\(two(second / 60 % 60)):\(two(second % 60))"
    }
}
