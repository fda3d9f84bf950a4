#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SergeantBroker
import SergeantCore

// MARK: - DashboardPage

/// The dashboard's main page, rendered on the server from a ``FleetSnapshot``: queues with
/// their counts, the throughput chart, workers with what they run, the dead letters with
/// requeue and drop buttons. Every value goes through ``HTML/text(_:)``.
///
/// Elements carry `data-` attributes (`data-queue`, `data-field`, `data-worker`) so that a
/// browser test can read the numbers without parsing the layout.
struct DashboardPage {
    /// A queue's dead letters as the page lists them.
    struct DeadLetters {
        var queue: String
        var total: Int
        var entries: [DeadLetterEntry]
    }

    var snapshot: FleetSnapshot
    var deadLetters: [DeadLetters]
    /// The last hour's rate buckets, from the broker, oldest first.
    var points: [ThroughputSample]
    var csrfToken: String
    var scriptNonce: String
    var refreshSeconds: Double
    var notice: String?
    var decode: (DeadLetter) -> SergeantTask?

    func render() -> String {
        var html = HTML()
        Self.head(&html, title: "sergeant dashboard")
        html.raw("<h1>sergeant</h1><p class=\"meta\">")
        html.text("\(snapshot.connector) broker, read \(Self.time(snapshot.takenAt))")
        html.raw(" · <a href=\"/metrics\">/metrics</a> · <a href=\"/api/snapshot\">JSON</a></p>")
        if let notice {
            html.raw("<p class=\"notice\" id=\"notice\">")
            html.text(notice)
            html.raw("</p>")
        }
        queues(&html)
        chart(&html)
        workers(&html)
        dead(&html)
        if refreshSeconds > 0 {
            // The only script: reload the page, unless a form is being used.
            html.raw("<script nonce=\"\(scriptNonce)\">setTimeout(function(){if(!document.querySelector('form:focus-within'))"
                + "location.replace(location.pathname);},\(Int(refreshSeconds * 1000)));</script>")
        }
        html.raw("</body></html>")
        return html.markup
    }

    // MARK: Sections

    private func queues(_ html: inout HTML) {
        html.raw("<h2>Queues</h2><table id=\"queues\"><tr><th>queue</th><th>waiting</th><th>delayed due</th><th>delayed later</th>"
            + "<th>in flight</th><th>timed out</th><th>dead</th><th>processed</th><th>per s (last min)</th></tr>")
        for queue in snapshot.queues {
            html.raw("<tr data-queue=\"")
            html.text(queue.name)
            html.raw("\"><td>")
            html.text(queue.name)
            html.raw("</td>")
            let rate = queue.lastMinute.flatMap { counts in queue.rateWindow.map { Double(counts.processed) / max($0, 1) } }
            let cells: [(String, String)] = [
                ("waiting", "\(queue.waiting)"), ("delayed_due", Self.number(queue.delayedDue)),
                ("delayed_later", Self.number(queue.delayedLater)), ("in_flight", Self.number(queue.inFlightTotal)),
                ("timed_out", Self.number(queue.timedOut)), ("dead", Self.number(queue.dead)),
                ("processed", Self.number(queue.totals?.processed)),
                ("rate", rate.map { Self.fixed($0, 2) } ?? "n/a"),
            ]
            for (field, value) in cells {
                html.raw("<td class=\"n\" data-field=\"\(field)\">")
                html.text(value)
                html.raw("</td>")
            }
            html.raw("</tr>")
        }
        html.raw("</table>")
    }

    private func chart(_ html: inout HTML) {
        let (width, height) = (720.0, 160.0)
        let span = Double(max(points.count, 1)) * RateBuckets.width
        let processed = points.reduce(0) { $0 + $1.processed }, failed = points.reduce(0) { $0 + $1.failed }
        html.raw("<h2>Throughput, last \(Int(span / 60)) min</h2>")
        html.raw("<svg id=\"throughput\" viewBox=\"0 0 \(Int(width)) \(Int(height + 20))\" width=\"\(Int(width))\" height=\"\(Int(height + 20))\""
            + " role=\"img\" aria-label=\"tasks processed and failed per second\" data-points=\"\(points.count)\""
            + " data-processed=\"\(processed)\" data-failed=\"\(failed)\">")
        html.raw("<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#f6f8fa\" stroke=\"#ccc\"/>")
        let top = max(points.map(\.processedPerSecond).max() ?? 0, 1)
        if processed == 0 {
            html.raw("<text x=\"10\" y=\"20\">no task ended in the last hour</text>")
        } else {
            // One point per 10 s bucket, the newest complete one at the right edge.
            let lines: [(rate: KeyPath<ThroughputSample, Double>, colour: String)] = [
                (\.processedPerSecond, "#0969da"), (\.failedPerSecond, "#cf222e"),
            ]
            for (rate, colour) in lines {
                let coordinates = points.enumerated().map { index, point -> String in
                    let x = points.count > 1 ? Double(index) / Double(points.count - 1) * width : width
                    return Self.fixed(x, 1) + "," + Self.fixed(height - point[keyPath: rate] / top * (height - 10), 1)
                }
                html.raw("<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(coordinates.joined(separator: " "))\"/>")
            }
        }
        html.raw("<text x=\"4\" y=\"\(Int(height + 15))\">max \(Self.fixed(top, 2))/s · \(processed) processed, \(failed) failed"
            + " (blue: processed, red: failed)</text><text x=\"\(Int(width - 40))\" y=\"\(Int(height + 15))\">now</text></svg>")
    }

    private func workers(_ html: inout HTML) {
        html.raw("<h2>Workers</h2><table id=\"workers\"><tr><th>worker</th><th>queue</th><th>state</th><th>host</th><th>pid</th>"
            + "<th>RSS</th><th>executor</th><th>done</th><th>in flight</th><th>current task</th><th>its age</th></tr>")
        for queue in snapshot.queues {
            let inFlight = Dictionary((queue.inFlight ?? []).map { ($0.worker, $0) }, uniquingKeysWith: { first, _ in first })
            for status in queue.workers ?? [] {
                html.raw(status.stale == nil ? "<tr data-worker=\"" : "<tr class=\"stale\" data-worker=\"")
                html.text(status.worker)
                html.raw("\"><td>")
                html.text(status.worker)
                html.raw("</td><td>")
                html.text(queue.name)
                html.raw("</td><td data-field=\"state\">")
                html.text(status.stale.map { "stale: \($0)" } ?? "alive")
                let record = status.record
                let running = record?.running
                let cells: [(String, String)] = [
                    ("host", record?.hostName ?? "?"), ("pid", record.map { "\($0.pid)" } ?? "?"),
                    ("rss", record.map { Self.bytes($0.residentBytes) } ?? "?"), ("executor", record?.executor ?? "?"),
                    ("done", record.map { "\($0.tasksDone)" } ?? "?"), ("in_flight", "\(inFlight[status.worker]?.count ?? 0)"),
                    ("task", running.map { $0.traceID ?? "(no trace id)" } ?? "idle"),
                    ("age", running.map { Self.fixed(max(snapshot.takenAt - $0.since, 0), 1) + " s" } ?? ""),
                ]
                html.raw("</td>")
                for (field, value) in cells {
                    html.raw("<td data-field=\"\(field)\">")
                    html.text(value)
                    html.raw("</td>")
                }
                html.raw("</tr>")
            }
        }
        html.raw("</table>")
    }

    private func dead(_ html: inout HTML) {
        html.raw("<h2>Dead letters</h2>")
        for list in deadLetters {
            html.raw("<section class=\"dead\" data-queue=\"")
            html.text(list.queue)
            html.raw("\"><h3>")
            html.text(list.queue)
            html.raw(": <span data-field=\"dead_total\">\(list.total)</span> set aside</h3>")
            if list.total > 0 {
                for (action, label) in [("requeue", "Requeue all"), ("drop", "Drop all")] {
                    html.raw("<form class=\"\(action)\" method=\"post\" action=\"/dead/\(action)\">"
                        + "<input type=\"hidden\" name=\"csrf\" value=\"\(csrfToken)\"><input type=\"hidden\" name=\"queue\" value=\"")
                    html.text(list.queue)
                    html.raw("\"><button type=\"submit\">\(label)</button></form>")
                }
            }
            html.raw("<table><tr><th>#</th><th>reason</th><th>set aside</th><th>trace id</th><th>runs</th><th>kwargs</th><th>this entry</th></tr>")
            for entry in list.entries {
                let index = entry.index
                html.raw("<tr class=\"letter\" data-digest=\"\(entry.digest)\"><td><a href=\"/task?queue=\(HTML.queryEscape(list.queue))&amp;in=dead&amp;index=\(index)\">\(index)</a></td>")
                switch entry.letter {
                case .success(let letter):
                    let task = decode(letter)
                    for value in [letter.reason, Self.time(letter.date), task?.traceID ?? "", task.map { "\($0.runCount)" } ?? "",
                                  task.map { Self.abbreviated(Value.map($0.kwargs).jsonText) } ?? "\(letter.task.count) bytes, not a task"] {
                        html.raw("<td>")
                        html.text(value)
                        html.raw("</td>")
                    }
                case .failure(let error):
                    html.raw("<td colspan=\"5\">unreadable entry: ")
                    html.text(error.message)
                    html.raw("</td>")
                }
                html.raw("<td>")
                for (action, label) in [("requeue", "Requeue"), ("drop", "Drop")] {
                    html.raw("<form class=\"\(action)-one\" method=\"post\" action=\"/dead/\(action)\">"
                        + "<input type=\"hidden\" name=\"csrf\" value=\"\(csrfToken)\"><input type=\"hidden\" name=\"entry\" value=\"\(index)\">"
                        + "<input type=\"hidden\" name=\"digest\" value=\"\(entry.digest)\"><input type=\"hidden\" name=\"queue\" value=\"")
                    html.text(list.queue)
                    html.raw("\"><button type=\"submit\">\(label)</button></form>")
                }
                html.raw("</td></tr>")
            }
            html.raw("</table></section>")
        }
    }

    // MARK: Formatting

    static func head(_ html: inout HTML, title: String) {
        html.raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
        html.text(title)
        html.raw("</title><meta name=\"viewport\" content=\"width=device-width\"><style>"
            + "body{font:14px system-ui,sans-serif;margin:1.5em;color:#1f2328}table{border-collapse:collapse;margin-bottom:1em}"
            + "td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left}th{background:#f6f8fa}td.n{text-align:right}"
            + "tr.stale{background:#fff1e5;color:#953800}.meta{color:#656d76}.notice{background:#dafbe1;padding:6px}"
            + "form{display:inline-block;margin:0 6px 6px 0}pre{background:#f6f8fa;padding:8px;overflow:auto}"
            + "</style></head><body>")
    }

    static func number(_ value: Int?) -> String { value.map { "\($0)" } ?? "n/a" }

    static func bytes(_ count: Int) -> String { count > 0 ? fixed(Double(count) / 1_048_576, 1) + " MiB" : "?" }

    /// `value` with `digits` decimals (no Foundation formatting in this module).
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "n/a" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled) - whole * Int(scale)
        var text = (value < 0 && scaled > 0 ? "-" : "") + "\(whole)"
        if digits > 0 {
            let digitsText = "\(fraction)"
            text += "." + String(repeating: "0", count: digits - digitsText.count) + digitsText
        }
        return text
    }

    static func time(_ unix: Double) -> String {
        unix > 0 ? Date(timeIntervalSince1970: unix).formatted(.iso8601) : "?"
    }

    static func abbreviated(_ text: String) -> String { text.count > 120 ? String(text.prefix(117)) + "…" : text }
}
