import SergeantABI
import SergeantCore

// MARK: - PluginWorker

/// One worker instance inside a plugin, called through its C function table.
public final class PluginWorker: @unchecked Sendable {
    let table: sergeant_worker_api
    /// The `size` the plugin reported writing: the fields it provides.
    let reportedSize: Int
    /// The host whose table the plugin instance holds: it must outlive the instance.
    private let host: PluginHost

    init(table: sergeant_worker_api, reportedSize: Int, host: PluginHost) {
        self.table = table
        self.reportedSize = reportedSize
        self.host = host
    }

    deinit {
        table.destroy?(table.worker)
    }

    /// The result of one call: its status, the message written on failure, and any value.
    public struct Result: Sendable {
        /// The status code the plugin returned.
        public var status: sergeant_status
        /// The failure message, when there is one.
        public var message: String
        /// The msgpack value `work` returned (work only).
        public var value: [UInt8]

        /// How the call ended.
        public var outcome: TaskOutcome { TaskOutcome(status: status) }

        /// The message, or `status NAME` when the plugin wrote none.
        public var failureText: String { TaskOutcome.failureText(message, status: status) }

        /// What a handler the plugin does not provide (a NULL entry) returns: success.
        static let succeeded = Result(status: SERGEANT_OK, message: "", value: [])
    }

    /// The worker's configuration, from the JSON document the plugin writes.
    public func config() throws(PluginError) -> WorkerConfig {
        guard let function = table.config else { throw PluginError(.moduleNotLoadable, "the plugin provides no config function") }
        let output = OutputBuffer()
        let result = call { error in output.withOutput { function(table.worker, $0, error) } }
        guard result.outcome == .success else { throw PluginError(.invalidConfig, "generateConfig failed: \(result.message)") }
        let config: WorkerConfig
        do {
            let json = try Value(json: output.text)
            config = try ValueDecoder().decode(WorkerConfig.self, from: json)
        } catch {
            throw PluginError(.invalidConfig, "the worker's configuration is not valid: \(error)")
        }
        do throws(InvalidConfiguration) { try config.validate() } catch {
            throw PluginError(.invalidConfig, "the worker's configuration is not valid: \(error)")
        }
        return config
    }

    // MARK: Lifecycle

    /// Calls `initialize`.
    public func initialize() -> Result { call { table.initialize?(table.worker, $0) } }
    /// Calls `finalize`.
    public func finalize() -> Result { call { table.finalize?(table.worker, $0) } }
    /// Calls `on_starvation`.
    public func onStarvation(_ seconds: Double) -> Result { call { table.on_starvation?(table.worker, seconds, $0) } }

    // MARK: Tasks

    /// Calls `pre_work`.
    public func preWork(_ task: [UInt8]) -> Result {
        // A NULL entry (a handler the class does not override) is skipped without a crossing.
        guard let function = table.pre_work else { return .succeeded }
        return withTask(task) { bytes, length, error in function(table.worker, bytes, length, error) }
    }

    /// Calls `work`; the returned value comes back in ``Result/value``.
    public func work(_ task: [UInt8]) -> Result {
        var value: [[UInt8]] = []
        var result = withTask(task) { bytes, length, error in
            OutputBuffer.withOutput(into: &value) { table.work?(table.worker, bytes, length, $0, error) }
        }
        // Nothing written: work returned nothing (msgpack nil).
        result.value = value.first ?? [0xc0]
        return result
    }

    /// Calls `post_work`.
    public func postWork(_ task: [UInt8], success: Bool, exception: String?) -> Result {
        guard let function = table.post_work else { return .succeeded }
        return withTask(task) { bytes, length, error in
            if let exception {
                return exception.withCString { function(table.worker, bytes, length, success ? 1 : 0, $0, error) }
            }
            return function(table.worker, bytes, length, success ? 1 : 0, nil, error)
        }
    }

    /// Calls the handler of `outcome`: `on_success` with the `value` work returned,
    /// `on_failure` with the `failure` text, the others with the task alone; respawn has no
    /// handler and ends as success.
    ///
    /// ```swift
    /// let result = worker.handle(.retry, task)  // on_retry
    /// ```
    public func handle(_ outcome: TaskOutcome, _ task: [UInt8], value: [UInt8] = [], failure: String = "") -> Result {
        let function: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int, UnsafePointer<sergeant_output>?) -> sergeant_status)?
        switch outcome {
        case .success:
            guard let onSuccess = table.on_success else { return .succeeded }
            return withTask(task) { bytes, length, error in
                value.withUnsafeBufferPointer { onSuccess(table.worker, bytes, length, $0.baseAddress, $0.count, error) }
            }
        case .failure:
            guard let onFailure = table.on_failure else { return .succeeded }
            return withTask(task) { bytes, length, error in
                failure.withCString { onFailure(table.worker, bytes, length, $0, error) }
            }
        case .timeout: function = table.on_timeout
        case .retry: function = table.on_retry
        case .maxRetries: function = table.on_max_retries
        case .requeue: function = table.on_requeue
        case .stop: function = table.on_stop
        case .respawn: function = nil
        }
        guard let function else { return .succeeded }
        return withTask(task) { bytes, length, error in function(table.worker, bytes, length, error) }
    }

    // MARK: Calling

    private func call(_ body: (UnsafePointer<sergeant_output>) -> sergeant_status?) -> Result {
        // Nothing is allocated for the message unless the plugin writes one.
        var message: [[UInt8]] = []
        // A function the plugin does not provide is a handler that does nothing.
        let code = OutputBuffer.withOutput(into: &message) { body($0) } ?? SERGEANT_OK
        return Result(status: code, message: OutputBuffer.text(of: message), value: [])
    }

    private func withTask(_ task: [UInt8],
                          _ body: (UnsafePointer<UInt8>?, Int, UnsafePointer<sergeant_output>) -> sergeant_status?) -> Result {
        task.withUnsafeBufferPointer { buffer in
            call { error in body(buffer.baseAddress, buffer.count, error) }
        }
    }
}
