// MARK: - Targets

/// The targets issues 6 and 16 set, checked against one run's table: what was measured,
/// whether it met the target, and for a miss the measured reason the table itself gives (a
/// target faster than the bare Redis limit; per task, this row's time and instructions
/// against the row it is held to).
extension Report {
    func targets() -> [String] {
        var lines = ["targets (issues 6 and 16), msgpack rows of this run; reasons for misses and the profiles: README, Performance"]
        func add(_ target: String, _ measured: String, _ verdict: String) {
            lines.append("  " + pad(target, 48) + pad(measured, 50) + verdict)
        }
        func this(_ kind: Kind, atLeastOnce: Bool? = nil) -> Row? {
            rows.first { $0.section == "main" && $0.system == .this && $0.kind == kind && $0.compressor == "none"
                && (atLeastOnce == nil || $0.atLeastOnce == atLeastOnce) }
        }
        func python(_ kind: Kind) -> Row? {
            rows.first { $0.section == "main" && $0.system == .python && $0.kind == kind && $0.compressor == "none" }
        }
        func limit(_ kind: Kind) -> Row? {
            rows.first { $0.section == "main" && $0.system == .limit && $0.kind == kind }
        }
        func times(_ value: Double?) -> String { value.map { String(format: "%.2fx", $0) } ?? "?" }
        func verdict(_ met: Bool) -> String { met ? "met" : "missed" }
        /// "met", or "missed" with the measured reason when there is one.
        func verdict(_ met: Bool, because reason: () -> String?) -> String {
            met ? "met" : reason().map { "missed: " + $0 } ?? "missed"
        }

        // Single rows: against the raw loop, and against Python.
        let single: [(String, Row?)] = [
            ("push", this(.pushOne)), ("consume AMO", this(.consumeOne, atLeastOnce: false)),
            ("consume ALO", this(.consumeOne, atLeastOnce: true)),
        ]
        let ofRaw = single.map { ($0.0, $0.1.flatMap(ratioToLimit).map { 1 / $0 }) }
        let rawVerdict = verdict(ofRaw.allSatisfy { ($0.1 ?? .infinity) <= 1.3 }) {
            guard let worst = single.max(by: { ($0.1.flatMap(ratioToLimit) ?? 0) > ($1.1.flatMap(ratioToLimit) ?? 0) }),
                  let row = worst.1, let raw = limitPeer(of: row) else { return nil }
            return "\(worst.0) " + perTask(row, against: raw)
        }
        add("single rows <= 1.3x the raw round-trip loop", ofRaw.map { "\($0.0) \(times($0.1))" }.joined(separator: ", "), rawVerdict)
        let versusPython = single.map { ($0.0, $0.1.flatMap(ratioToPython)) }
        let singleVerdict = verdict(versusPython.allSatisfy { ($0.1 ?? 0) >= 2.5 }) {
            if let py = python(.pushOne)?.seconds, let raw = limit(.pushOne)?.seconds, py / 2.5 < raw {
                return String(format: "2.5x Python (%.2f s per push row) is faster than the raw loop (%.2f s)", py / 2.5, raw)
            }
            guard let worst = single.min(by: { ($0.1.flatMap(ratioToPython) ?? .infinity) < ($1.1.flatMap(ratioToPython) ?? .infinity) }),
                  let row = worst.1, let py = pythonPeer(of: row) else { return nil }
            return "\(worst.0) " + perTask(row, against: py) + " (Python)"
        }
        add("single rows >= 2.5x Python", versusPython.map { "\($0.0) \(times($0.1))" }.joined(separator: ", "), singleVerdict)

        // Against Sidekiq, like for like: one process, one task per round trip (its fastest
        // consume row, at concurrency 1 or its default).
        let sidekiq: [(String, Double?, Double)] = [
            ("AMO", this(.consumeOne, atLeastOnce: false).flatMap { ratio(to: .sidekiq, $0) }, 5),
            ("ALO", this(.consumeOne, atLeastOnce: true).flatMap { ratio(to: .sidekiq, $0) }, 4),
        ]
        if sidekiq.contains(where: { $0.1 != nil }) {
            let sidekiqVerdict = verdict(sidekiq.allSatisfy { ($0.1 ?? 0) >= $0.2 }) {
                guard let short = sidekiq.first(where: { ($0.1 ?? 0) < $0.2 }),
                      let row = this(.consumeOne, atLeastOnce: short.0 == "ALO"), let peer = comparedRow(.sidekiq, for: row) else { return nil }
                return "\(short.0) " + perTask(row, against: peer) + " (Sidekiq)"
            }
            add("consume 1/txn >= 5x Sidekiq AMO, 4x ALO", sidekiq.map { "\($0.0) \(times($0.1))" }.joined(separator: ", "), sidekiqVerdict)
        }

        // Bulk push.
        let bulk = this(.pushBulk)
        let bulkPython = bulk.flatMap(ratioToPython)
        let bulkVerdict = verdict((bulkPython ?? 0) >= 4) {
            guard let py = python(.pushBulk)?.seconds, let bound = limit(.pushBulk)?.seconds, py / 4 < bound else { return nil }
            return String(format: "4x Python (%.3f s) is faster than the pipelined limit (%.3f s)", py / 4, bound)
        }
        add("bulk push >= 4x Python", times(bulkPython), bulkVerdict)
        let bulkLimit = bulk.flatMap(ratioToLimit).map { 1 / $0 }
        add("bulk push <= 1.5x the pipelined limit", times(bulkLimit), verdict((bulkLimit ?? .infinity) <= 1.5))

        // Batch consume.
        let atMostOnce = this(.consumeBatch, atLeastOnce: false)
        let atLeastOnce = this(.consumeBatch, atLeastOnce: true)
        let batchPython = [atMostOnce, atLeastOnce].map { $0.flatMap(ratioToPython) }
        let batchVerdict = verdict(batchPython.allSatisfy { ($0 ?? 0) >= 5 }) {
            guard let row = (batchPython[1] ?? 0) < (batchPython[0] ?? 0) ? atLeastOnce : atMostOnce,
                  let py = pythonPeer(of: row) else { return nil }
            return "\(row.atLeastOnce == true ? "ALO" : "AMO") " + perTask(row, against: py) + " (Python)"
        }
        add("batch consume >= 5x Python", "AMO \(times(batchPython[0])), ALO \(times(batchPython[1]))", batchVerdict)
        let popLoop = rows.first { $0.section == "main" && $0.system == .limit && $0.detail == Bench.batchPopLoop }
        if let popLoop {
            let ofLoop = [atMostOnce, atLeastOnce].map { row in row.flatMap { ratio(of: popLoop, to: $0) }.map { 1 / $0 } }
            let loopVerdict = verdict(ofLoop.allSatisfy { ($0 ?? .infinity) <= 4 }) {
                ((ofLoop[1] ?? 0) > (ofLoop[0] ?? 0) ? atLeastOnce : atMostOnce).map { perTask($0, against: popLoop) }
            }
            add("batch consume <= 4x the LPOP key 1000 loop", "AMO \(times(ofLoop[0])), ALO \(times(ofLoop[1]))", loopVerdict)
        }
        if let alo = atLeastOnce, let amo = atMostOnce, let cost = ratio(of: alo, to: amo) {
            let costVerdict = verdict(cost <= 1.15) { "at-least-once " + perTask(alo, against: amo) }
            add("batch at-least-once within 15% of at-most-once", String(format: "%+.1f%%", (cost - 1) * 100), costVerdict)
        }

        // Memory, start-up, latency.
        // Per consume row, ours against Python's; the worst pair is shown.
        let peaks: [(ours: Int, theirs: Int)] = [Kind.consumeOne, .consumeBatch].compactMap { kind in
            guard let ours = this(kind, atLeastOnce: true)?.peakKilobytes, let theirs = python(kind)?.peakKilobytes else { return nil }
            return (ours, theirs)
        }
        if let worst = peaks.max(by: { Double($0.ours) / Double($0.theirs) < Double($1.ours) / Double($1.theirs) }) {
            add("worker peak RSS < 1/3 of Python's",
                String(format: "%.1f MB against %.1f MB (%.0f%%)", Double(worst.ours) / 1024, Double(worst.theirs) / 1024,
                       Double(worst.ours) / Double(worst.theirs) * 100),
                verdict(peaks.allSatisfy { Double($0.ours) < Double($0.theirs) / 3 }))
        }
        if let start = extras.first(where: { $0.section == "startup" && $0.system == .this && $0.label.contains("first task") }) {
            add("8 workers: start -> first task < 100 ms", milliseconds(start.median), verdict(start.error == nil && start.median < 0.1))
        }
        let latencies = extras.filter { $0.section == "latency" && $0.system == .this && $0.error == nil }
        if let slowest = latencies.map(\.median).max() {
            add("idle worker starts a new task < 5 ms", "median \(milliseconds(slowest)) (slower of ALO and AMO)", verdict(slowest < 0.005))
        }
        return lines
    }

    /// The measured reason of a miss: `row`'s time per task against `other`'s, and its
    /// instructions per task (callgrind, the worker process) when both were counted.
    func perTask(_ row: Row, against other: Row) -> String {
        func micro(_ value: Double?) -> String { value.map { String(format: "%.2f µs", $0 * 1e6) } ?? "?" }
        var text = "\(micro(row.secondsPerTask))/task against \(micro(other.secondsPerTask))"
        if let ours = row.instructionsPerTask {
            text += String(format: "; %.0f Ir/task", ours)
            if let theirs = other.instructionsPerTask { text += String(format: " against %.0f", theirs) }
        }
        return text
    }
}
