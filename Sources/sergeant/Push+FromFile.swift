#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import SergeantBroker
import SergeantCore

nonisolated(unsafe) private var interrupted: sig_atomic_t = 0

// MARK: - push --from-file

extension Push {
    /// Pushes one task per line of a JSON Lines file in chunks of ``chunkSize`` (one round trip
    /// each). A line that is not a JSON object stops the run there (the lines before it are
    /// pushed) unless ``skipBadLines``; SIGINT ends the run after the chunk in flight. Either
    /// way the summary says exactly which lines were pushed, so a run resumes with
    /// `--start-line`.
    func pushLines(of path: String, broker: Broker, queue: String) throws {
        guard let file = path == "-" ? fdopen(STDIN_FILENO, "r") : fopen(path, "r") else {
            throw CommandFailure(message: "cannot open \(path): \(String(cString: strerror(errno)))", code: 1)
        }
        defer { if path != "-" { fclose(file) } }
        let total = path == "-" ? nil : Self.fileSize(path)
        let progress = Progress(total: total, toTerminal: isatty(STDERR_FILENO) != 0)
        signal(SIGINT) { _ in interrupted = 1 }
        let priority = TaskPriority(rawValue: self.priority.uppercased()) ?? .normal
        var chunk: [SergeantTask] = []
        var lineNumber = 0
        var pushed = 0
        var lastPushedLine = startLine - 1
        var skipped: [Int] = []
        var stopReason: String?

        func flush(upTo line: Int) throws {
            guard !chunk.isEmpty else { return }
            let now = unixTime()
            try brokerCall { () throws(BrokerError) in
                try broker.push(tasks: chunk, queue: queue, priority: priority, consumableFrom: delay.map { now + $0 })
            }
            pushed += chunk.count
            lastPushedLine = line
            chunk.removeAll(keepingCapacity: true)
        }

        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        var bytesRead = 0
        while interrupted == 0 {
            let length = getline(&buffer, &capacity, file)
            guard length >= 0, let buffer else { break }
            lineNumber += 1
            bytesRead += length
            guard lineNumber >= startLine else { continue }
            let text = String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self)
            if text.allSatisfy(\.isWhitespace) { continue }
            do {
                let value = try Value(json: text)
                guard let kwargs = value.mapValue else { throw CommandFailure(message: "a JSON \(value.kindName), not an object", code: 1) }
                chunk.append(SergeantTask(kwargs: kwargs, traceID: traceID, date: unixTime()))
            } catch {
                let reason = "line \(lineNumber) is not a kwargs object: \("\(error)".prefix(200))"
                if skipBadLines {
                    skipped.append(lineNumber)
                    progress.note(reason)
                    continue
                }
                try flush(upTo: lineNumber - 1)
                stopReason = reason
                break
            }
            if chunk.count >= chunkSize {
                try flush(upTo: lineNumber)
                progress.report(pushed: pushed, bytes: bytesRead)
            }
        }
        if stopReason == nil { try flush(upTo: lineNumber) }
        progress.finish(pushed: pushed, bytes: bytesRead)
        let range = lastPushedLine >= startLine ? "lines \(startLine)-\(lastPushedLine)" : "no line"
        var summary = "pushed \(pushed) task(s) to \(queue) from \(range) of \(path == "-" ? "standard input" : path)"
        if !skipped.isEmpty { summary += "; skipped \(skipped.count) bad line(s): \(skipped.prefix(10).map(String.init).joined(separator: ", "))\(skipped.count > 10 ? ", ..." : "")" }
        print(summary)
        if let stopReason {
            throw CommandFailure(message: "\(stopReason); nothing after it was pushed. Fix it and resume with --start-line \(lastPushedLine + 1),"
                + " or pass --skip-bad-lines", code: 1)
        }
        if interrupted != 0 {
            throw CommandFailure(message: "interrupted: lines up to \(lastPushedLine) are pushed; resume with --start-line \(lastPushedLine + 1)", code: 130)
        }
    }

    private static func fileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(info.st_size)
    }
}

// MARK: - Progress

/// Progress of a `--from-file` push on standard error: a line redrawn in place on a terminal
/// (count, rate, and percentage with ETA when the file's size is known), a plain line every
/// second otherwise.
final class Progress {
    let total: Int?
    let toTerminal: Bool
    let started = MonotonicClock.now
    var lastReport = MonotonicClock.now

    init(total: Int?, toTerminal: Bool) {
        self.total = total
        self.toTerminal = toTerminal
    }

    func report(pushed: Int, bytes: Int) {
        let now = MonotonicClock.now
        guard now - lastReport >= (toTerminal ? 0.1 : 1) else { return }
        lastReport = now
        emit(line(pushed: pushed, bytes: bytes, now: now), inPlace: toTerminal)
    }

    func note(_ message: String) {
        if toTerminal { emit("", inPlace: true) }
        emit("sergeant: \(message)", inPlace: false)
    }

    func finish(pushed: Int, bytes: Int) {
        if toTerminal { emit(line(pushed: pushed, bytes: bytes, now: MonotonicClock.now), inPlace: false) }
    }

    private func line(pushed: Int, bytes: Int, now: Double) -> String {
        let elapsed = max(now - started, 0.001)
        var text = "pushed \(pushed) task(s), \(Int(Double(pushed) / elapsed))/s"
        if let total, total > 0 {
            let done = Double(bytes) / Double(total)
            let eta = done > 0 ? elapsed / done - elapsed : 0
            text += ", \(Int(done * 100))%, ETA \(Int(eta.rounded())) s"
        }
        return text
    }

    private func emit(_ text: String, inPlace: Bool) {
        let bytes = Array(((inPlace ? "\r\u{1B}[K" : "") + text + (inPlace ? "" : "\n")).utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
