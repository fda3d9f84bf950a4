import Logging
import SergeantABI
import SergeantCore

// MARK: - HostLink

/// Where a worker's log lines go: the host once the exported factory attached it, and until
/// then a queue of lines that is written to the host when it is attached. A worker that logs
/// in `init` (before the host exists for it) loses nothing: its lines come out first, in
/// order, in the host's format. Lines still waiting when the worker goes away without a
/// host (or more than ``pendingLimit`` of them) are written to standard error.
final class HostLink: @unchecked Sendable {
    /// One line logged before the host was attached.
    struct PendingLine {
        var label: String
        var level: LogLevel
        var message: String
        var metadata: [(key: String, value: String)]
    }

    /// Lines kept before the host is attached; later ones go straight to standard error.
    static let pendingLimit = 1000

    private let lock = Mutex()
    private var attached: HostAPIClient?
    private var pending: [PendingLine] = []

    /// The host's connection; nil until ``attach(_:)``.
    var connection: HostAPIClient? { lock.withLock { attached } }

    /// The host's connection; throws when the worker runs outside sergeant-host.
    func requireConnection() throws -> HostAPIClient {
        guard let connection else {
            throw WorkerError("this worker is not running inside sergeant-host; broker calls need the host")
        }
        return connection
    }

    /// Attaches the host and writes the lines logged so far to it, in order.
    func attach(_ connection: HostAPIClient) {
        lock.withLock {
            attached = connection
            for line in pending where !connection.log(line.level, line.message, metadata: line.metadata) {
                Self.writeToStandardError(line)
            }
            pending = []
        }
    }

    /// Sends one line to the host, or keeps it until the host is attached.
    func log(_ line: PendingLine) {
        let connection: HostAPIClient? = lock.withLock {
            if let attached { return attached }
            if pending.count < Self.pendingLimit {
                pending.append(line)
            } else {
                Self.writeToStandardError(line)
            }
            return nil
        }
        if let connection, !connection.log(line.level, line.message, metadata: line.metadata) {
            Self.writeToStandardError(line)
        }
    }

    deinit {
        pending.forEach(Self.writeToStandardError)
    }

    private static func writeToStandardError(_ line: PendingLine) {
        var message = line.message
        if !line.metadata.isEmpty { message += " " + line.metadata.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        SergeantLogHandler.write(line: SergeantLogHandler.format(name: line.label, level: line.level, message: message),
                                 to: .standardError)
    }
}

// MARK: - HostLogHandler

/// Sends a worker's log lines, with their swift-log metadata, to the host, which writes
/// them in sergeant's format (`message key=value ...`, keys sorted) or as JSON fields. A line
/// logged while a task with a trace id runs (on its thread, or in its async `work`) carries
/// that id as `trace_id`, unless the line sets `trace_id` itself.
struct HostLogHandler: LogHandler {
    let link: HostLink
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(link: HostLink, label: String, level: Logger.Level) {
        self.link = link
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        if merged["trace_id"] == nil, let traceID = Worker.currentTraceID { merged["trace_id"] = .string(traceID) }
        let pairs = merged.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value.description) }
        link.log(HostLink.PendingLine(label: label, level: LogLevel(event.level), message: event.message.description,
                                      metadata: pairs))
    }
}
