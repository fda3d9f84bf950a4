import SergeantABI
import SergeantCore

// MARK: - work_async and cancel

extension WorkerAPITable {
    /// Fills the ABI 1.2 entries: `work_async` runs ``Worker/workReturning(task:)-(SergeantTask)``
    /// (async) as a Swift task and reports through the host's completion; `cancel` cancels
    /// that task (its `CancellationError` or `Task.isCancelled` is how the work sees a timeout).
    static func fillAsync(_ table: inout sergeant_worker_api) {
        table.work_async = { instance, bytes, length, complete, context, handle, error in
            guard let instance, let complete, let handle else {
                write("work_async needs a worker, a completion and a handle", to: error)
                return SERGEANT_INVALID
            }
            let worker = WorkerAPITable.worker(instance)
            let task: SergeantTask
            do {
                task = try SergeantTask(messagePack: UnsafeRawBufferPointer(start: bytes, count: length))
            } catch let failure {
                write("the host passed a task that is not readable: \(failure)", to: error)
                return SERGEANT_INVALID
            }
            let id = worker.asyncTasks.reserve()
            handle.pointee = id
            // The host's context is an opaque address; it crosses into the task as a number.
            let address = UInt(bitPattern: context)
            let shared = Shared(value: worker)
            let running = Task {
                let worker = shared.value
                let (status, value, message) = await WorkerAPITable.runAsync(worker, task)
                worker.asyncTasks.remove(id)
                var text = message
                value.withUnsafeBufferPointer { value in
                    text.withUTF8 { text in
                        text.withMemoryRebound(to: CChar.self) { text in
                            complete(UnsafeMutableRawPointer(bitPattern: address), status, value.baseAddress, value.count,
                                     text.baseAddress, text.count)
                        }
                    }
                }
            }
            worker.asyncTasks.attach(running, to: id)
            return SERGEANT_OK
        }
        table.cancel = { instance, handle in
            guard let instance else { return }
            WorkerAPITable.worker(instance).asyncTasks.cancel(handle)
        }
    }

    /// Runs the async work of `task` and maps what it returns or throws to a status, the
    /// returned value (msgpack, empty for nil) and a failure message.
    static func runAsync(_ worker: Worker, _ task: SergeantTask) async -> (sergeant_status, [UInt8], String) {
        do {
            let returned = try await Worker.$asyncTraceID.withValue(task.traceID) {
                try await worker.workReturning(task: task)
            }
            return (SERGEANT_OK, returned == .null ? [] : MessagePack.encode(returned), "")
        } catch let interrupt as WorkerInterrupt {
            return (interrupt.outcome.status, [], "")
        } catch is CancellationError {
            return (SERGEANT_FAILURE, [], "the task was cancelled")
        } catch let failure {
            return (SERGEANT_FAILURE, [], Worker.failureText(of: failure))
        }
    }
}
