import Logging

// MARK: - LoggingConfig

/// Logging settings, as sergeant's `Logging` config.
public struct LoggingConfig: Codable, Sendable, Hashable {
    /// The lowest level written. sergeant's default is ERROR.
    public var level: LogLevel
    /// Write the worker's lines to standard output (otherwise to standard error).
    public var logToStdout: Bool
    /// Which task events are logged.
    public var events: LoggingEvents
    /// sergeant's line format, or one JSON object a line for log shippers (`format`; beyond
    /// Python). `sergeant-host --log-format` overrides it.
    public var format: LogFormat

    /// Creates logging settings.
    public init(level: LogLevel = .error, logToStdout: Bool = false, events: LoggingEvents = LoggingEvents(),
                format: LogFormat = .sergeant) {
        self.level = level
        self.logToStdout = logToStdout
        self.events = events
        self.format = format
    }

    enum CodingKeys: String, CodingKey {
        case level, events, format
        case logToStdout = "log_to_stdout"
    }

    /// Decodes JSON in which every field is optional.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        level = try container.decodeIfPresent(LogLevel.self, forKey: .level) ?? .error
        logToStdout = try container.decodeIfPresent(Bool.self, forKey: .logToStdout) ?? false
        events = try container.decodeIfPresent(LoggingEvents.self, forKey: .events) ?? LoggingEvents()
        format = try container.decodeIfPresent(LogFormat.self, forKey: .format) ?? .sergeant
    }
}

// MARK: - LogFormat

/// How log lines are written.
///
/// ```swift
/// var logging = LoggingConfig(level: .info, logToStdout: true)
/// logging.format = .json   // {"time":"2026-12-01T20:00:00.123Z","level":"info","logger":"test_worker","pid":42,"message":"..."}
/// ```
public enum LogFormat: String, Codable, Sendable, Hashable, CaseIterable {
    /// Python sergeant's line: `2026-11-29 10:00:00 test_worker  4242 INFO     message key=value`.
    case sergeant
    /// One JSON object a line: time (UTC, ISO 8601), level, logger, pid, message, then the
    /// swift-log metadata as fields.
    case json
}

/// Per-event log switches, as sergeant's `LoggingEvents` (same defaults).
public struct LoggingEvents: Codable, Sendable, Hashable {
    /// Log each success (INFO). Off by default.
    public var onSuccess = false
    /// Log each failure (ERROR).
    public var onFailure = true
    /// Log each timeout (ERROR).
    public var onTimeout = true
    /// Log each retry (INFO).
    public var onRetry = true
    /// Log each task that reached max_retries (ERROR).
    public var onMaxRetries = true
    /// Log each requeue (INFO).
    public var onRequeue = true
    /// Log starvation (WARNING).
    public var onStarvation = true
    /// Log stops (INFO).
    public var onStop = true

    /// Creates event switches with sergeant's defaults.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case onSuccess = "on_success", onFailure = "on_failure", onTimeout = "on_timeout"
        case onRetry = "on_retry", onMaxRetries = "on_max_retries", onRequeue = "on_requeue"
        case onStarvation = "on_starvation", onStop = "on_stop"
    }

    /// Decodes JSON in which every switch is optional.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = LoggingEvents()
        onSuccess = try container.decodeIfPresent(Bool.self, forKey: .onSuccess) ?? defaults.onSuccess
        onFailure = try container.decodeIfPresent(Bool.self, forKey: .onFailure) ?? defaults.onFailure
        onTimeout = try container.decodeIfPresent(Bool.self, forKey: .onTimeout) ?? defaults.onTimeout
        onRetry = try container.decodeIfPresent(Bool.self, forKey: .onRetry) ?? defaults.onRetry
        onMaxRetries = try container.decodeIfPresent(Bool.self, forKey: .onMaxRetries) ?? defaults.onMaxRetries
        onRequeue = try container.decodeIfPresent(Bool.self, forKey: .onRequeue) ?? defaults.onRequeue
        onStarvation = try container.decodeIfPresent(Bool.self, forKey: .onStarvation) ?? defaults.onStarvation
        onStop = try container.decodeIfPresent(Bool.self, forKey: .onStop) ?? defaults.onStop
    }
}

// MARK: - LogLevel

/// Log levels with Python's numbers, so configs read the same in both languages.
public enum LogLevel: Int, Codable, Sendable, Hashable, Comparable, CaseIterable {
    /// DEBUG (10).
    case debug = 10
    /// INFO (20).
    case info = 20
    /// WARNING (30).
    case warning = 30
    /// ERROR (40).
    case error = 40
    /// CRITICAL (50).
    case critical = 50

    /// The name Python's logging prints.
    package var name: String {
        switch self {
        case .debug: return "DEBUG"
        case .info: return "INFO"
        case .warning: return "WARNING"
        case .error: return "ERROR"
        case .critical: return "CRITICAL"
        }
    }

    /// The nearest level for a raw number (the ABI carries numbers).
    package init(number: Int) {
        self = LogLevel.allCases.last { $0.rawValue <= number } ?? .debug
    }

    /// The swift-log level.
    package var loggerLevel: Logger.Level {
        switch self {
        case .debug: return .debug
        case .info: return .info
        case .warning: return .warning
        case .error: return .error
        case .critical: return .critical
        }
    }

    /// The level for a swift-log level.
    package init(_ level: Logger.Level) {
        switch level {
        case .trace, .debug: self = .debug
        case .info, .notice: self = .info
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        }
    }

    /// Orders by severity.
    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}
