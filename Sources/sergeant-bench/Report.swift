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
    }

    let rows: [Row]
    let extras: [Extra]
    let context: Context

    // MARK: Ratios

    /// Python's row for the same work: same kind and compressor (scaling rows: consume
    /// 1,000 per transaction, msgpack).
    func pythonPeer(of row: Row) -> Row? {
        guard row.system == .this else { return nil }
        let compressor = row.section == "scaling" ? "none" : row.compressor
        return rows.first { $0.section == "main" && $0.system == .python && $0.kind == row.kind && $0.compressor == compressor }
    }

    func limitPeer(of row: Row) -> Row? {
        rows.first { $0.section == "main" && $0.system == .limit && $0.kind == row.kind }
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

    /// `peer`'s seconds over `row`'s. Rows of one section ran interleaved, run by run, so
    /// the ratio is the median of the per-run ratios (a run the whole machine was slower in
    /// cancels out); across sections it is the ratio of the medians.
    func ratio(of peer: Row, to row: Row) -> Double? {
        if peer.section == row.section, peer.samples.count == row.samples.count, !row.samples.isEmpty, row.errors.isEmpty, peer.errors.isEmpty {
            return median(zip(peer.samples, row.samples).map { $0.seconds / max($1.seconds, 1e-9) })
        }
        guard let seconds = row.seconds, seconds > 0, let peerSeconds = peer.seconds else { return nil }
        return peerSeconds / seconds
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
        lines.append("  consume rows are timed from the first task's start to the last task's end; x Python = Python's seconds / "
            + "this row's (above 1: faster) and of limit = the limit's seconds / this row's, each the median of the per-run ratios; "
            + "peak RSS = VmHWM of the pushing or working process")
        lines.append("")
        let header = pad("row", 58) + lpad("seconds", 9) + lpad("tasks/s", 12) + lpad("x Python", 10) + lpad("of limit", 10) + lpad("peak RSS", 11)
        lines.append(header)
        lines.append(String(repeating: "-", count: header.count))
        let main = rows.filter { $0.section == "main" }
        var kind: Kind?
        for row in main {
            if row.kind != kind {
                kind = row.kind
                lines.append(row.kind.rawValue)
            }
            var name = "  " + pad(row.system.rawValue, 8)
            if row.system == .limit {
                name += row.detail
            } else {
                name += row.encoding
                if let atLeastOnce = row.atLeastOnce { name += atLeastOnce ? ", at-least-once" : ", at-most-once" }
            }
            lines.append(line(name, row))
        }
        let scaling = rows.filter { $0.section == "scaling" }
        if !scaling.isEmpty {
            lines.append("")
            lines.append("scaling: consume 1000 per transaction, at-least-once, msgpack, unpinned, median of \(context.scalingRuns) runs; "
                + "this machine has \(context.cores) cores, so past \(context.cores) worker processes or threads they share them "
                + "(and share them with redis-server); x Python and of limit: ratios of medians against the main rows above")
            for row in scaling { lines.append(line("  " + pad(row.system.rawValue, 8) + row.detail, row)) }
        }
        let tls = rows.filter { $0.section == "tls" }
        if !tls.isEmpty {
            lines.append("")
            lines.append("tls: consume, at-least-once, msgpack, unpinned, plain TCP and TLS (rediss://, TLS 1.3, verified) to the ports "
                + "of one redis-server, interleaved; x Python: ratios of medians against the main rows above")
            for row in tls {
                lines.append(line("  " + pad(row.system.rawValue, 8) + "\(row.kind.rawValue), \(row.detail)", row))
            }
        }
        if !extras.isEmpty {
            lines.append("")
            lines.append("start-up and latency (ms)")
            for extra in extras {
                let name = "  " + pad(extra.system.rawValue, 8) + extra.label
                lines.append(pad(name, 80) + extra.summary)
            }
        }
        lines.append("")
        lines += targets()
        return lines.joined(separator: "\n")
    }

    private func line(_ name: String, _ row: Row) -> String {
        guard let seconds = row.seconds else {
            return pad(name, 58) + "failed: " + (row.errors.first?.split(separator: "\n").first.map(String.init) ?? "")
        }
        let python = ratioToPython(row).map { String(format: "%.2fx", $0) } ?? (row.system == .python ? "1.00x" : "")
        let limit = ratioToLimit(row).map { String(format: "%.0f%%", $0 * 100) } ?? ""
        let rss = row.peakKilobytes.map { String(format: "%.1f MB", Double($0) / 1024) } ?? ""
        return pad(name, 58) + lpad(String(format: "%.3f", seconds), 9) + lpad(grouped(Int(Double(context.tasks) / seconds)), 12)
            + lpad(python, 10) + lpad(limit, 10) + lpad(rss, 11)
    }

    // MARK: CSV

    func csv() -> String {
        var lines = ["section,row,system,encoding,at_least_once,workers,threads,redis_nodes,pinned_core0,runs,seconds_median,seconds_all,"
            + "tasks_per_second,ratio_vs_python,ratio_vs_limit,peak_rss_kb,p99_seconds,note"]
        for row in rows {
            let seconds = row.seconds
            let fields: [String] = [
                row.section, row.section == "scaling" ? row.detail : row.kind.rawValue, row.system.rawValue,
                row.system == .limit ? row.detail : row.encoding,
                row.atLeastOnce.map { $0 ? "true" : "false" } ?? "",
                String(row.workers), String(row.threads), String(row.nodes), row.pinned ? "true" : "false",
                String(row.samples.count),
                seconds.map { String(format: "%.6f", $0) } ?? "",
                row.samples.map { String(format: "%.6f", $0.seconds) }.joined(separator: " "),
                seconds.map { String(format: "%.1f", Double(context.tasks) / $0) } ?? "",
                ratioToPython(row).map { String(format: "%.4f", $0) } ?? "",
                ratioToLimit(row).map { String(format: "%.4f", $0) } ?? "",
                row.peakKilobytes.map(String.init) ?? "",
                "",
                row.errors.first.map { "failed: " + ($0.split(separator: "\n").first.map(String.init) ?? "") } ?? "",
            ]
            lines.append(fields.map(quoted).joined(separator: ","))
        }
        for extra in extras {
            let fields: [String] = [
                extra.section, extra.label, extra.system.rawValue, "", "", "", "", "1", "false", String(extra.samples),
                extra.error == nil ? String(format: "%.6f", extra.median) : "", "", "", "", "", "",
                extra.p99.map { String(format: "%.6f", $0) } ?? "",
                extra.error.map { "failed: " + ($0.split(separator: "\n").first.map(String.init) ?? "") } ?? extra.note,
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
