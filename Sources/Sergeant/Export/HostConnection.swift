import SergeantABI
import SergeantCore

// MARK: - HostConnection

/// The plugin's handle on the host's function table: every broker operation of a worker
/// goes through it, so it runs on the host's connections.
struct HostConnection: @unchecked Sendable {
    let api: UnsafePointer<sergeant_host_api>

    /// Calls a host function that reports errors through an output; throws its message.
    @discardableResult
    func call(_ what: String, _ body: (UnsafeMutableRawPointer?, UnsafePointer<sergeant_output>) -> sergeant_status)
        throws -> PluginStatus
    {
        let error = OutputBuffer()
        let status = PluginStatus(code: error.withOutput { body(api.pointee.host, $0) })
        switch status {
        case .ok, .retry, .maxRetries, .requeue:
            return status
        default:
            throw WorkerError("\(what) failed: \(error.text.isEmpty ? "status \(status)" : error.text)")
        }
    }

    /// The function `keyPath` of the table, when the host provides it.
    func function<F>(_ keyPath: KeyPath<sergeant_host_api, F?>, named name: String) throws -> F {
        guard let function = api.pointee[keyPath: keyPath] else {
            throw WorkerError("the host does not provide \(name); upgrade sergeant-host")
        }
        return function
    }

    func log(_ level: LogLevel, _ message: String) {
        guard let log = api.pointee.log else { return }
        var message = message
        message.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { log(api.pointee.host, Int32(level.rawValue), $0.baseAddress, $0.count) }
        }
    }
}

/// Runs `body` with an optional Swift string as a C string (NULL when nil).
func withOptionalCString<T>(_ string: String?, _ body: (UnsafePointer<CChar>?) throws -> T) rethrows -> T {
    guard let string else { return try body(nil) }
    return try string.withCString { try body($0) }
}
