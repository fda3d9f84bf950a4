#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

// MARK: - SergeantLogHandler

/// A swift-log handler that writes Python sergeant's line format:
/// `2026-11-29 10:00:00 test_worker  4242 INFO     task parameters are: {...}`
/// (`%(asctime)s %(name)-12s %(process)d %(levelname)-8s %(message)s`).
package struct SergeantLogHandler: LogHandler {
    /// Where lines go.
    package enum Destination: Sendable {
        /// Standard output.
        case standardOutput
        /// Standard error.
        case standardError
    }

    /// The name printed in the second column (the worker's name).
    package let label: String
    /// Where lines go.
    package let destination: Destination
    /// swift-log metadata, appended to the message as `key=value`.
    package var metadata: Logger.Metadata = [:]
    /// The lowest level written.
    package var logLevel: Logger.Level
    /// sergeant's line or a JSON object.
    package let format: LogFormat

    /// Creates a handler.
    package init(label: String, level: Logger.Level = .info, destination: Destination = .standardError,
                 format: LogFormat = .sergeant) {
        self.label = label
        self.logLevel = level
        self.destination = destination
        self.format = format
    }

    /// Reads and writes one metadata entry.
    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    package func log(event: LogEvent) {
        var message = event.message.description
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if format == .json {
            Self.write(line: Self.jsonLine(name: label, level: event.level, message: message, metadata: merged), to: destination)
            return
        }
        if !merged.isEmpty {
            message += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        Self.write(line: Self.format(name: label, level: LogLevel(event.level), message: message), to: destination)
    }

    /// One line in sergeant's format, with the trailing newline.
    package static func format(name: String, level: LogLevel, message: String, time: time_t = time(nil)) -> String {
        var moment = time
        var parts = tm()
        localtime_r(&moment, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        let stamp = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(stamp) \(pad(name, 12)) \(getpid()) \(pad(level.name, 8)) \(message)\n"
    }

    /// One JSON object with the trailing newline: time (UTC, ISO 8601 with milliseconds),
    /// level, logger, pid, message, then the metadata (sorted by key; values as strings, nested
    /// metadata as JSON).
    package static func jsonLine(name: String, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var moment = now.tv_sec
        var parts = tm()
        gmtime_r(&moment, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let milliseconds = String(now.tv_nsec / 1_000_000)
        let stamp = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            + "." + String(repeating: "0", count: 3 - milliseconds.count) + milliseconds + "Z"
        var entries: [ValueMap.Entry] = [
            .init(key: "time", value: .string(stamp)), .init(key: "level", value: .string(level.rawValue)),
            .init(key: "logger", value: .string(name)), .init(key: "pid", value: .int(Int64(getpid()))),
            .init(key: "message", value: .string(message)),
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where !["time", "level", "logger", "pid", "message"].contains(key) {
            entries.append(.init(key: .string(key), value: Self.value(value)))
        }
        return Value.map(ValueMap(entries)).jsonText + "\n"
    }

    private static func value(_ metadata: Logger.MetadataValue) -> Value {
        switch metadata {
        case .string(let text): return .string(text)
        case .stringConvertible(let convertible): return .string(convertible.description)
        case .array(let values): return .array(values.map(value))
        case .dictionary(let values):
            return .map(ValueMap(values.sorted { $0.key < $1.key }.map { .init(key: .string($0.key), value: value($0.value)) }))
        }
    }

    /// Writes a whole line with one write(2), so lines of concurrent processes never interleave.
    package static func write(line: String, to destination: Destination) {
        var line = line
        let descriptor = destination == .standardOutput ? STDOUT_FILENO : STDERR_FILENO
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
