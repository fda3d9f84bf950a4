import SergeantABI
import SergeantCore

// MARK: - Async work

extension PluginWorker {
    /// True when the plugin provides `work_async` and `cancel` (ABI 1.2, see ASYNC WORK in
    /// sergeant_plugin.h): the async executor can keep many of its tasks running at once.
    public var supportsAsyncWork: Bool {
        ABITable.covers(reportedSize, \sergeant_worker_api.cancel) && table.work_async != nil && table.cancel != nil
    }

    /// Starts `task` with `work_async`; `completion` receives its ``Result`` exactly once, on
    /// whatever thread the plugin completes it (possibly before this returns). Returns the
    /// plugin's handle, or the failed result when the task did not start (then `completion`
    /// is never called).
    public func startWork(_ task: [UInt8], completion: @escaping @Sendable (Result) -> Void) -> AsyncStart {
        guard supportsAsyncWork, let workAsync = table.work_async else {
            return .failed(Result(status: SERGEANT_INVALID, message: "the plugin has no work_async", value: []))
        }
        let context = Unmanaged.passRetained(AsyncCompletionBox(completion)).toOpaque()
        var handle: sergeant_async_handle = 0
        var message: [[UInt8]] = []
        let status = task.withUnsafeBufferPointer { buffer in
            OutputBuffer.withOutput(into: &message) { error in
                workAsync(table.worker, buffer.baseAddress, buffer.count, { context, status, value, valueLength, text, textLength in
                    guard let context else { return }
                    let box = Unmanaged<AsyncCompletionBox>.fromOpaque(context).takeRetainedValue()
                    let bytes = value.map { Array(UnsafeBufferPointer(start: $0, count: valueLength)) } ?? []
                    let message = text.map {
                        String(decoding: UnsafeRawBufferPointer(start: $0, count: textLength), as: UTF8.self)
                    } ?? ""
                    box.completion(Result(status: status, message: message, value: bytes.isEmpty ? [0xc0] : bytes))
                }, context, &handle, error)
            }
        }
        guard status == SERGEANT_OK else {
            // Never started: the plugin will not complete it, so its box is released here.
            Unmanaged<AsyncCompletionBox>.fromOpaque(context).release()
            return .failed(Result(status: status, message: OutputBuffer.text(of: message), value: []))
        }
        return .started(handle)
    }

    /// Asks the running task `handle` to stop soon (`cancel`); its completion still comes.
    public func cancel(_ handle: sergeant_async_handle) {
        guard supportsAsyncWork else { return }
        table.cancel?(table.worker, handle)
    }

    /// How ``startWork(_:completion:)`` went.
    public enum AsyncStart: Sendable {
        /// The task runs; this is its handle.
        case started(sergeant_async_handle)
        /// The task did not start; this is why.
        case failed(Result)
    }
}

/// The host's per-task context of `work_async`: the completion, kept alive until it ran.
private final class AsyncCompletionBox {
    let completion: @Sendable (PluginWorker.Result) -> Void
    init(_ completion: @escaping @Sendable (PluginWorker.Result) -> Void) { self.completion = completion }
}
