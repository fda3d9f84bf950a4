import Foundation

// MARK: - Report

/// The table `make bench` prints and the CSV it writes.
struct Report {
    struct Context {
        var tasks: Int
        var runs: Int
        var scalingRuns: Int
        var cores: Int
        var redisVersion: String
        var pythonVersion: String
        var sergeantVersion: String
        var payloadBytes: Int
        var loadAtStart: String
        var loadAtEnd: String
        var minutes: Double
        var revision: String?
        /// Each peer's name and version, as its packages report them.
        var peerVersions: [System: String] = [:]
        var peerTasks: Int = 0
        /// N and M of the callgrind runs; nil without `--callgrind`.
        var callgrindTasks: (tasks: Int, baseline: Int)?
    }

    let rows: [Row]
    let extras: [Extra]
    let context: Context

    // MARK: Ratios

    /// The row of `system` that `row` is compared with: Python's for the same kind and
    /// compressor (scaling rows: consume 1,000 per transaction, msgpack); a peer's for the
    /// same kind, its consume rows for both consume kinds (no peer fetches in batches), the
    /// fastest when it has several (Sidekiq at its default concurrency and at 1).
    /// A peer's other rows are compared with its fastest (Sidekiq at concurrency 1 against
    /// its default); a row is not compared with itself.
    func comparedRow(_ system: System, for row: Row) -> Row? {
        guard row.system != .limit, !(row.system == system && !system.isPeer) else { return nil }
        if system == .python {
            let compressor = row.section == "scaling" || row.compressor == nil ? "none" : row.compressor
            return rows.first { $0.section == "main" && $0.system == .python && $0.kind == row.kind && $0.compressor == compressor }
        }
        let kind = row.kind == .consumeBatch ? Kind.consumeOne : row.kind
        let fastest = rows.filter { $0.section == "main" && $0.system == system && $0.kind == kind && $0.secondsPerTask != nil }
            .min { $0.secondsPerTask! < $1.secondsPerTask! }
        return fastest === row ? nil : fastest
    }

    func pythonPeer(of row: Row) -> Row? {
        row.system == .this ? comparedRow(.python, for: row) : nil
    }

    func limitPeer(of row: Row) -> Row? {
        rows.first { $0.section == "main" && $0.system == .limit && $0.kind == row.kind }
    }

    /// `system`'s seconds per task over this row's: above 1, this row is faster.
    func ratio(to system: System, _ row: Row) -> Double? {
        comparedRow(system, for: row).flatMap { ratio(of: $0, to: row) }
    }

    /// Python's seconds over this row's: above 1, this project is faster.
    func ratioToPython(_ row: Row) -> Double? {
        pythonPeer(of: row).flatMap { ratio(of: $0, to: row) }
    }

    /// The limit's seconds over this row's: the share of the bare Redis rate reached.
    func ratioToLimit(_ row: Row) -> Double? {
        guard row.system != .limit else { return nil }
        return limitPeer(of: row).flatMap { ratio(of: $0, to: row) }
    }

    /// `peer`'s seconds per task over `row`'s. Rows of one section ran interleaved, run by
    /// run, so the ratio is the median of the per-run ratios (a run the whole machine was
    /// slower in cancels out); across sections it is the ratio of the medians.
    func ratio(of peer: Row, to row: Row) -> Double? {
        let scale = Double(row.tasks) / Double(peer.tasks)
        if peer.section == row.section, peer.samples.count == row.samples.count, !row.samples.isEmpty, row.errors.isEmpty, peer.errors.isEmpty {
            return median(zip(peer.samples, row.samples).map { $0.seconds / max($1.seconds, 1e-9) * scale })
        }
        guard let seconds = row.seconds, seconds > 0, let peerSeconds = peer.seconds else { return nil }
        return peerSeconds / seconds * scale
    }

    // MARK: Table

    func table() -> String {
        var lines: [String] = []
        let sergeant = "Python sergeant \(context.sergeantVersion) (CPython \(context.pythonVersion))"
        let code = context.revision.map { " (code at \($0))" } ?? ""
        lines.append("make bench\(code): \(grouped(context.tasks)) tasks per row, median of \(context.runs) runs interleaved run by run "
            + "(this, python, limit, this, ...), msgpack, one private redis-server \(context.redisVersion) on 127.0.0.1; single rows "
            + "(push one by one, consume 1 per transaction) with redis-server and the client pinned to core 0 (taskset -c 0), batch "
            + "rows unpinned; a shared \(context.cores)-core machine, so figures are noisy (load average \(context.loadAtStart) at "
            + "the start, \(context.loadAtEnd) at the end, \(String(format: "%.1f", context.minutes)) minutes)")
        lines.append("  this   = sergeant for Swift: release sergeant-host + Plugins-Examples/benchmark (work counts); pushes through Broker.push")
        lines.append("  python = \(sergeant) from PyPI: python -m sergeant.supervisor + bench/sergeant_bench_worker.py; pushes through push_task(s)")
        lines.append("  limit  = no framework: a hiredis C loop (bench/raw_redis.c) or redis-benchmark -c 1 -P 1000, "
            + "\(context.payloadBytes)-byte values (one task as msgpack); the batch rows of this project send one "
            + "command per batch (RPUSH with every task, LPOP with a count), which costs Redis less than 1,000 pipelined "
            + "commands, so they can pass that limit (of limit above 100%)")
        let peers = System.peers.filter { system in rows.contains { $0.system == system } }
        for system in peers { lines.append("  " + pad(system.rawValue, 9) + "= " + peerDescription(system)) }
        lines.append("  consume rows are timed from the first task's start to the last task's end; x Python = Python's seconds / "
            + "this row's (above 1: faster) and of limit = the limit's seconds / this row's, each the median of the per-run ratios; "
            + "peak RSS = VmHWM of the pushing or working process")
        if !peers.isEmpty {
            lines.append("  x Sidekiq, x RQ, x Dramatiq: the same against each peer's fastest row of the kind, in seconds per task (peers run "
                + "\(grouped(context.peerTasks)) jobs per sample), the consume 1000 per transaction rows against the peers' consume rows "
                + "(no peer fetches in batches); Sidekiq's open-source fetch (BRPOP) is at-most-once: its like for like is this "
                + "project's at-most-once row (one process, one thread, one task per round trip)")
        }
        if let callgrind = context.callgrindTasks {
            lines.append("  Ir/task = instructions per task of the working process (the pushing process, or one sergeant-worker with the "
                + "row's settings), valgrind callgrind, (Ir(\(grouped(callgrind.tasks))) - Ir(\(grouped(callgrind.baseline)))) / "
                + "\(grouped(callgrind.tasks - callgrind.baseline)) tasks, one run each: start-up excluded, the same on any load")
        }
        lines.append("")
        var header = pad("row", 60) + lpad("seconds", 9) + lpad("tasks/s", 12)
        for system in [System.python] + peers { header += lpad("x " + system.title, columnWidth(system)) }
        header += lpad("of limit", 10) + lpad("peak RSS", 11)
        let counted = rows.contains { $0.instructionsPerTask != nil || $0.callgrindError != nil }
        if counted { header += lpad("Ir/task", 10) }
        lines.append(header)
        lines.append(String(repeating: "-", count: header.count))
        let main = rows.filter { $0.section == "main" }
        var kind: Kind?
        for row in main {
            if row.kind != kind {
                kind = row.kind
                lines.append(row.kind.rawValue)
            }
            var name = "  " + pad(row.system.rawValue, 9)
            if row.system == .limit || row.system.isPeer {
                name += row.detail
            } else {
                name += row.encoding
                if let atLeastOnce = row.atLeastOnce { name += atLeastOnce ? ", at-least-once" : ", at-most-once" }
            }
            lines.append(line(name, row, peers: peers, counted: counted))
        }
        let scaling = rows.filter { $0.section == "scaling" }
        if !scaling.isEmpty {
            lines.append("")
            lines.append("scaling: consume 1000 per transaction, at-least-once, msgpack, unpinned, median of \(context.scalingRuns) runs; "
                + "this machine has \(context.cores) cores, so past \(context.cores) worker processes or threads they share them "
                + "(and share them with redis-server); x Python and of limit: ratios of medians against the main rows above")
            for row in scaling { lines.append(line("  " + pad(row.system.rawValue, 9) + row.detail, row, peers: peers, counted: counted)) }
        }
        let cluster = rows.filter { $0.section == "cluster" }
        if !cluster.isEmpty {
            lines.append("")
            lines.append("cluster: consume 1000 per transaction, at-least-once, msgpack, unpinned, one queue over as many shards as the"
                + " cluster has masters (no replicas), beside one plain redis-server, median of \(context.scalingRuns) runs; every"
                + " master, worker and the bench share this machine's \(context.cores) cores, so past \(context.cores) processes more"
                + " masters cannot add throughput here")
            for row in cluster { lines.append(line("  " + pad(row.system.rawValue, 9) + row.detail, row, peers: peers, counted: counted)) }
        }
        let tls = rows.filter { $0.section == "tls" }
        if !tls.isEmpty {
            lines.append("")
            lines.append("tls: consume, at-least-once, msgpack, unpinned, plain TCP and TLS (rediss://, TLS 1.3, verified) to the ports "
                + "of one redis-server, interleaved; x Python: ratios of medians against the main rows above")
            for row in tls {
                lines.append(line("  " + pad(row.system.rawValue, 8) + "\(row.kind.rawValue), \(row.detail)", row, peers: peers, counted: counted))
            }
        }
        lines += ioSectionLines()
        if !extras.isEmpty {
            lines.append("")
            lines.append("start-up and latency (ms)")
            for extra in extras {
                let name = "  " + pad(extra.system.rawValue, 9) + extra.label
                lines.append(pad(name, 80) + extra.summary)
            }
        }
        lines.append("")
        lines += targets()
        lines += ioTargets()
        return lines.joined(separator: "\n")
    }

    private func columnWidth(_ system: System) -> Int { max(system.title.count + 4, 8) }

    private func line(_ name: String, _ row: Row, peers: [System], counted: Bool) -> String {
        guard let seconds = row.seconds else {
            return pad(name, 60) + "failed: " + (row.errors.first?.split(separator: "\n").first.map(String.init) ?? "")
        }
        var text = pad(name, 60) + lpad(String(format: "%.3f", seconds), 9) + lpad(grouped(Int(Double(row.tasks) / seconds)), 12)
        for system in [System.python] + peers {
            let value = ratio(to: system, row).map { String(format: "%.2fx", $0) } ?? (row.system == system ? "1.00x" : "")
            text += lpad(value, columnWidth(system))
        }
        let limit = ratioToLimit(row).map { String(format: "%.0f%%", $0 * 100) } ?? ""
        let rss = row.peakKilobytes.map { String(format: "%.1f MB", Double($0) / 1024) } ?? ""
        text += lpad(limit, 10) + lpad(rss, 11)
        if counted {
            text += lpad(row.instructionsPerTask.map { grouped(Int($0.rounded())) } ?? (row.callgrindError == nil ? "" : "failed"), 10)
        }
        return text
    }

    /// What a peer's rows ran, with the versions its packages report.
    func peerDescription(_ system: System) -> String {
        let version = context.peerVersions[system] ?? system.title
        switch system {
        case .sidekiq:
            return "\(version): bench/peers/sidekiq_bench.rb, a no-op job; pushes through Sidekiq::Client; one `sidekiq` process, "
                + "log level WARN (no line per job)"
        case .rq:
            return "\(version): bench/peers/rq_bench.py, a no-op job; pushes through Queue.enqueue(_many); one SimpleWorker "
                + "(RQ's default Worker forks a work horse per job), log level WARNING"
        default:
            return "\(version): bench/peers/dramatiq_bench.py, a no-op actor on the RedisBroker; pushes through actor.send; "
                + "python -m dramatiq --processes 1 (its default 8 threads); a message is acked when done (at-least-once)"
        }
    }

    // MARK: CSV

    func csv() -> String {
        var lines = ["section,row,system,encoding,at_least_once,workers,threads,redis_nodes,pinned_core0,runs,seconds_median,seconds_all,"
            + "tasks_per_second,ratio_vs_python,ratio_vs_limit,peak_rss_kb,p99_seconds,note,tasks,ratio_vs_sidekiq,ratio_vs_rq,"
            + "ratio_vs_dramatiq,ir_per_task"]
        for row in rows {
            let seconds = row.seconds
            var fields: [String] = [
                row.section, ["scaling", "cluster", "io", "producers"].contains(row.section) ? row.detail : row.kind.rawValue, row.system.rawValue,
                row.system == .limit || row.system.isPeer ? row.detail : row.encoding,
                row.atLeastOnce.map { $0 ? "true" : "false" } ?? "",
                String(row.workers), String(row.threads), String(row.nodes), row.pinned ? "true" : "false",
                String(row.samples.count),
                seconds.map { String(format: "%.6f", $0) } ?? "",
                row.samples.map { String(format: "%.6f", $0.seconds) }.joined(separator: " "),
                seconds.map { String(format: "%.1f", Double(row.tasks) / $0) } ?? "",
                ratio(to: .python, row).map { String(format: "%.4f", $0) } ?? "",
                ratioToLimit(row).map { String(format: "%.4f", $0) } ?? "",
                row.peakKilobytes.map(String.init) ?? "",
                "",
                row.errors.first.map { "failed: " + ($0.split(separator: "\n").first.map(String.init) ?? "") } ?? "",
                String(row.tasks),
            ]
            for system in System.peers { fields.append(ratio(to: system, row).map { String(format: "%.4f", $0) } ?? "") }
            fields.append(row.instructionsPerTask.map { String(format: "%.0f", $0) } ?? "")
            lines.append(fields.map(quoted).joined(separator: ","))
        }
        for extra in extras {
            let fields: [String] = [
                extra.section, extra.label, extra.system.rawValue, "", "", "", "", "1", "false", String(extra.samples),
                extra.error == nil ? String(format: "%.6f", extra.median) : "", "", "", "", "", "",
                extra.p99.map { String(format: "%.6f", $0) } ?? "",
                extra.error.map { "failed: " + ($0.split(separator: "\n").first.map(String.init) ?? "") } ?? extra.note,
                "", "", "", "", "",
            ]
            lines.append(fields.map(quoted).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func quoted(_ field: String) -> String {
        guard field.contains(",") || field.contains("\"") else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

func lpad(_ text: String, _ width: Int) -> String {
    text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
}

/// 24254 -> "24,254".
func grouped(_ number: Int) -> String {
    let digits = String(number)
    var result = ""
    for (index, character) in digits.reversed().enumerated() {
        if index > 0 && index % 3 == 0 { result.append(",") }
        result.append(character)
    }
    return String(result.reversed())
}
