import Logging
import SergeantABI
import SergeantCore

// MARK: - PluginHost

/// The host's side of the plugin ABI: the object behind one `sergeant_host_api` table, which
/// a plugin instance holds from its creation until its `destroy`. This base fills the parts
/// every host has (size, version, the two log functions, to ``logger``); a subclass fills the
/// rest: ``ConfigurationHost`` while a configuration is read, the worker process's host (with
/// the broker) afterwards.
///
/// ```swift
/// final class MyHost: PluginHost {
///     init(logger: Logger) {
///         super.init(logger: logger)
///         table.pointee.should_stop = { _ in 0 }
///     }
/// }
/// ```
open class PluginHost: @unchecked Sendable {
    /// The logger plugin lines are written to.
    public let logger: Logger
    /// The table; a subclass fills its functions in its initializer.
    public let table: UnsafeMutablePointer<sergeant_host_api>

    /// Creates the table with its size, version and log functions.
    public init(logger: Logger) {
        self.logger = logger
        table = .allocate(capacity: 1)
        var api = sergeant_host_api()
        api.size = ABITable.compiledSize(sergeant_host_api.self)
        api.abi_version = ABIVersion.current
        api.log = { host, level, message, length in
            guard let host, let message else { return }
            let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
            PluginHost.object(host).logger.log(level: LogLevel(number: Int(level)).loggerLevel, "\(text)")
        }
        api.log_with_metadata = { host, level, message, length, keys, values, count in
            guard let host, let message else { return }
            let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
            var metadata: Logger.Metadata = [:]
            if let keys, let values {
                for index in 0..<count {
                    guard let key = keys[index] else { continue }
                    metadata[String(cString: key)] = .string(values[index].map { String(cString: $0) } ?? "")
                }
            }
            PluginHost.object(host).logger.log(level: LogLevel(number: Int(level)).loggerLevel, "\(text)", metadata: metadata)
        }
        table.initialize(to: api)
        table.pointee.host = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        table.deallocate()
    }

    /// The table to hand to `sergeant_worker_create`; valid while this host lives.
    public var api: UnsafePointer<sergeant_host_api> { UnsafePointer(table) }

    /// The host behind a table's opaque `host` pointer.
    public static func object(_ host: UnsafeMutableRawPointer) -> PluginHost {
        Unmanaged<PluginHost>.fromOpaque(host).takeUnretainedValue()
    }
}
