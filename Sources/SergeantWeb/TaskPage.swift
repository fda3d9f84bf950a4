import SergeantBroker
import SergeantCore

// MARK: - TaskPage

/// One task, from a queue's head or its dead letters: kwargs as JSON, trace id, run count,
/// date, and for a dead letter why it was set aside.
struct TaskPage {
    /// Why there is no task to show.
    struct Unreadable: Error {
        var message: String
    }

    var queue: String
    var place: String
    var index: Int
    var task: Result<SergeantTask, Unreadable>
    var reason: String?
    var setAside: Double?

    func render() -> String {
        var html = HTML()
        DashboardPage.head(&html, title: "task \(index) of \(queue)")
        html.raw("<p><a href=\"/\">← dashboard</a></p><h1>")
        html.text("\(place == "dead" ? "Dead letter" : "Queued task") \(index) of \(queue)")
        html.raw("</h1><table id=\"task\">")
        var rows: [(String, String, String)] = []
        if let reason { rows.append(("reason", "reason", reason)) }
        if let setAside { rows.append(("set aside", "set_aside", DashboardPage.time(setAside))) }
        switch task {
        case .success(let task):
            rows += [("trace id", "trace_id", task.traceID ?? "(none)"), ("run count", "run_count", "\(task.runCount)"),
                     ("date", "date", DashboardPage.time(task.date))]
            for (label, field, value) in rows { row(&html, label, field, value) }
            html.raw("</table><h2>kwargs</h2><pre id=\"kwargs\">")
            html.text(Value.map(task.kwargs).jsonText)
            html.raw("</pre>")
        case .failure(let unreadable):
            for (label, field, value) in rows { row(&html, label, field, value) }
            html.raw("</table><p id=\"unreadable\">")
            html.text(unreadable.message)
            html.raw("</p>")
        }
        html.raw("</body></html>")
        return html.markup
    }

    private func row(_ html: inout HTML, _ label: String, _ field: String, _ value: String) {
        html.raw("<tr><th>\(label)</th><td data-field=\"\(field)\">")
        html.text(value)
        html.raw("</td></tr>")
    }
}
