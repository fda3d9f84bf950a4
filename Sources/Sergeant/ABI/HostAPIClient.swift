import SergeantABI
import SergeantCore

// MARK: - HostAPIClient

/// The plugin's end of `sergeant_host_api`: the SDK calls the host's functions through it
/// (the host's end of that table is SergeantHost's `HostContext`). Every broker operation of
/// a worker goes through it, so it runs on the host's connections.
///
/// The table is read by the growth rule (sergeant_plugin.h, TABLES): only the `size` bytes
/// the host reports are copied, so a host older than this SDK is never read past its end,
/// and every function goes through ``function(_:named:)``, which checks that the host's
/// table holds it (`SERGEANT_HAS_FIELD`).
final class HostAPIClient: @unchecked Sendable {
    /// The host's table as far as the host has it; later fields are zero (nil).
    let table: sergeant_host_api
    /// The `size` the host reported.
    let hostTableSize: Int
    /// The host's opaque state, the first argument of every host function.
    let state: UnsafeMutableRawPointer?

    /// Reads the host's table at `api`.
    init(api: UnsafeRawPointer) {
        (table, hostTableSize) = ABITable.read(api, into: sergeant_host_api())
        state = ABITable.covers(hostTableSize, \sergeant_host_api.host) ? table.host : nil
    }

    /// The host's ABI version (`major.minor`), for messages.
    var hostVersion: String {
        ABITable.covers(hostTableSize, \sergeant_host_api.abi_version) ? ABIVersion.string(table.abi_version) : "unknown"
    }

    /// The function `keyPath` of the host's table; throws ``HostFunctionUnavailable``,
    /// naming it and the host's ABI version, when the host's table does not hold it or the
    /// host left it NULL. Every host function the SDK calls is fetched here.
    func function<F>(_ keyPath: KeyPath<sergeant_host_api, F?>, named name: String) throws(HostFunctionUnavailable) -> F {
        guard ABITable.covers(hostTableSize, keyPath), let function = table[keyPath: keyPath] else {
            throw HostFunctionUnavailable(function: name, hostVersion: hostVersion)
        }
        return function
    }

    /// Calls a host function that reports errors through an output; throws its message.
    @discardableResult
    func call(_ what: String, _ body: (UnsafeMutableRawPointer?, UnsafePointer<sergeant_output>) -> sergeant_status)
        throws -> TaskOutcome
    {
        let error = OutputBuffer()
        let status = error.withOutput { body(state, $0) }
        let outcome = TaskOutcome(status: status)
        switch outcome {
        case .success, .retry, .maxRetries, .requeue:
            return outcome
        default:
            throw WorkerError("\(what) failed: \(TaskOutcome.failureText(error.text, status: status))")
        }
    }

    /// Writes one log line through the host: with `log_with_metadata` when the host has it
    /// (ABI 1.1), otherwise with `log` and the metadata appended to the message as
    /// `key=value`, as the host would print it. False when the host has neither.
    @discardableResult
    func log(_ level: LogLevel, _ message: String, metadata: [(key: String, value: String)] = []) -> Bool {
        if !metadata.isEmpty, let log = try? function(\.log_with_metadata, named: "log_with_metadata") {
            var message = message
            return message.withUTF8 { bytes in
                withCStrings(metadata.map(\.key)) { keys in
                    withCStrings(metadata.map(\.value)) { values in
                        bytes.withMemoryRebound(to: CChar.self) {
                            log(state, Int32(level.rawValue), $0.baseAddress, $0.count, keys, values, metadata.count)
                        }
                        return true
                    }
                }
            }
        }
        guard let log = try? function(\.log, named: "log") else { return false }
        var line = message
        if !metadata.isEmpty { line += " " + metadata.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        line.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { log(state, Int32(level.rawValue), $0.baseAddress, $0.count) }
        }
        return true
    }
}

// MARK: - HostFunctionUnavailable

/// The host running this plugin does not provide a function the SDK needs: it speaks an
/// older minor version of the plugin ABI, which lacks it. Upgrade sergeant-host.
public struct HostFunctionUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    /// The C name of the missing function, such as `lock_acquire`.
    public let function: String
    /// The host's ABI version, `major.minor`.
    public let hostVersion: String

    /// Creates the error.
    public init(function: String, hostVersion: String) {
        self.function = function
        self.hostVersion = hostVersion
    }

    /// "this host (ABI 1.0) has no `lock_acquire`; upgrade sergeant-host".
    public var description: String {
        "this host (ABI \(hostVersion)) has no `\(function)`; upgrade sergeant-host"
    }
}

/// Runs `body` with an optional Swift string as a C string (NULL when nil).
func withOptionalCString<T>(_ string: String?, _ body: (UnsafePointer<CChar>?) throws -> T) rethrows -> T {
    guard let string else { return try body(nil) }
    return try string.withCString { try body($0) }
}

/// Runs `body` with `strings` as an array of NUL-terminated C strings, valid for the call.
func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
    let copies = strings.map { string -> UnsafeMutablePointer<CChar> in
        let utf8 = Array(string.utf8CString)
        let copy = UnsafeMutablePointer<CChar>.allocate(capacity: utf8.count)
        copy.initialize(from: utf8, count: utf8.count)
        return copy
    }
    defer { copies.forEach { $0.deallocate() } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
