#if canImport(Glibc)
import Glibc
#endif
import SergeantABI
import SergeantCore

// MARK: - Exporting worker classes

/// Implements the plugin's `sergeant_worker_create` for the given worker classes.
///
/// A plugin exports its classes with these lines (the signature is the C ABI's):
///
/// ```swift
/// @_cdecl("sergeant_worker_create")
/// public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
///                                  _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
///     exportWorkers([Worker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
/// }
/// ```
///
/// A class is found by its name (`Worker`) or its qualified name (`consumer.Worker`). The
/// host's table is read and the worker's written by the ABI's growth rule (see ``ABITable``),
/// so a plugin built with this SDK runs in older and newer hosts of the same major version.
public func exportWorkers(
    _ classes: [Worker.Type],
    className: UnsafePointer<CChar>?,
    hostAPI: UnsafeRawPointer?,
    workerAPI: UnsafeMutableRawPointer?,
    error: UnsafeRawPointer?
) -> Int32 {
    let error = error?.assumingMemoryBound(to: sergeant_output.self)
    guard let className, let hostAPI, let workerAPI else {
        write("sergeant_worker_create needs a class name, a host API and a worker API", to: error)
        return SERGEANT_INVALID
    }
    let host = HostAPIClient(api: hostAPI)
    guard host.table.abi_version >> 16 == ABIVersion.current >> 16 else {
        write("the host speaks plugin ABI \(host.hostVersion), this plugin"
              + " \(ABIVersion.string(ABIVersion.current)); rebuild the plugin against the host's SDK", to: error)
        return SERGEANT_ABI_MISMATCH
    }
    let name = String(cString: className)
    guard let workerClass = classes.first(where: { String(describing: $0) == name || String(reflecting: $0) == name }) else {
        let names = classes.map { String(describing: $0) }.joined(separator: ", ")
        write("this module exports no worker class named '\(name)'; it exports: \(names.isEmpty ? "none" : names)", to: error)
        return SERGEANT_CLASS_NOT_FOUND
    }
    let worker = workerClass.init()
    worker.link.attach(host)
    // The growth rule: only the room the host gave is written (min of it and this build's table).
    ABITable.write(WorkerAPITable.make(for: worker), to: workerAPI)
    return SERGEANT_OK
}

// MARK: - WorkerAPITable

/// The plugin's end of `sergeant_worker_api`: builds the C function table of one worker
/// instance, which the host calls (the host's end is SergeantHost's `PluginWorker`). Every
/// entry catches whatever the Swift code throws and turns it into a status code and a message.
enum WorkerAPITable {
    static func make(for worker: Worker) -> sergeant_worker_api {
        var table = sergeant_worker_api()
        table.size = ABITable.compiledSize(sergeant_worker_api.self)
        table.abi_version = ABIVersion.current
        table.worker = Unmanaged.passRetained(worker).toOpaque()
        table.config = { instance, config, error in
            guard let worker = instance.map(WorkerAPITable.worker) else { return SERGEANT_INVALID }
            do {
                // The ABI's JSON document, written from the configuration's Value (no Foundation).
                write(Array(try ValueEncoder().encode(worker.config).jsonText.utf8), to: config)
                return SERGEANT_OK
            } catch let failure {
                write("the worker's configuration cannot be encoded: \(failure)", to: error)
                return SERGEANT_FAILURE
            }
        }
        table.initialize = { instance, error in
            WorkerAPITable.run(instance, error) { worker in
                try worker.handlerForms.call(.initialize, sync: { try worker.initialize() }, async: { { [worker = Shared(value: worker)] in try await worker.value.initialize() } })
            }
        }
        table.finalize = { instance, error in
            WorkerAPITable.run(instance, error) { worker in
                try worker.handlerForms.call(.finalize, sync: { try worker.finalize() }, async: { { [worker = Shared(value: worker)] in try await worker.value.finalize() } })
            }
        }
        table.pre_work = { instance, task, length, error in
            WorkerAPITable.run(instance, task, length, error) { worker, task in
                try worker.handlerForms.call(.preWork, sync: { try worker.preWork(task: task) }, async: { { [worker = Shared(value: worker)] in try await worker.value.preWork(task: task) } })
            }
        }
        table.work = { instance, task, length, value, error in
            WorkerAPITable.run(instance, task, length, error) { worker, task in
                let state = TaskThreadState.current
                state.workingTraceID = task.traceID
                defer { state.workingTraceID = nil }
                state.syncDefaultReached = false
                var returned = try worker.workReturning(task: task)
                if state.syncDefaultReached {
                    // Only the async form is overridden: run it while this host thread waits.
                    let shared = Shared(value: worker)
                    returned = try BlockingCalls.wait {
                        try await Worker.$asyncTraceID.withValue(task.traceID) { try await shared.value.workReturning(task: task) }
                    }
                }
                // Nothing written reads as nil on the host's side.
                if returned != .null { write(MessagePack.encode(returned), to: value) }
            }
        }
        table.post_work = { instance, task, length, success, exception, error in
            let failure = exception.map { String(cString: $0) }
            return WorkerAPITable.run(instance, task, length, error) { worker, task in
                try worker.handlerForms.call(.postWork, sync: { try worker.postWork(task: task, success: success != 0, failure: failure) },
                                             async: { { [worker = Shared(value: worker)] in try await worker.value.postWork(task: task, success: success != 0, failure: failure) } })
            }
        }
        table.on_success = { instance, task, length, value, valueLength, error in
            let returned = (try? MessagePack.decode(UnsafeRawBufferPointer(start: value, count: valueLength))) ?? .null
            return WorkerAPITable.run(instance, task, length, error) { worker, task in
                try worker.handlerForms.call(.onSuccess, sync: { try worker.onSuccess(task: task, returnedValue: returned) }, async: { { [worker = Shared(value: worker)] in try await worker.value.onSuccess(task: task, returnedValue: returned) } })
            }
        }
        table.on_failure = { instance, task, length, exception, error in
            let failure = exception.map { String(cString: $0) } ?? ""
            return WorkerAPITable.run(instance, task, length, error) { worker, task in
                try worker.handlerForms.call(.onFailure, sync: { try worker.onFailure(task: task, failure: failure) }, async: { { [worker = Shared(value: worker)] in try await worker.value.onFailure(task: task, failure: failure) } })
            }
        }
        table.on_timeout = { instance, task, length, error in
            WorkerAPITable.run(instance, task, length, error) { worker, task in
                try worker.handlerForms.call(.onTimeout, sync: { try worker.onTimeout(task: task) }, async: { { [worker = Shared(value: worker)] in try await worker.value.onTimeout(task: task) } })
            }
        }
        table.on_retry = { instance, task, length, error in
            WorkerAPITable.run(instance, task, length, error) { worker, task in
                try worker.handlerForms.call(.onRetry, sync: { try worker.onRetry(task: task) }, async: { { [worker = Shared(value: worker)] in try await worker.value.onRetry(task: task) } })
            }
        }
        table.on_max_retries = { instance, task, length, error in
            WorkerAPITable.run(instance, task, length, error) { worker, task in
                try worker.handlerForms.call(.onMaxRetries, sync: { try worker.onMaxRetries(task: task) }, async: { { [worker = Shared(value: worker)] in try await worker.value.onMaxRetries(task: task) } })
            }
        }
        table.on_requeue = { instance, task, length, error in
            WorkerAPITable.run(instance, task, length, error) { worker, task in
                try worker.handlerForms.call(.onRequeue, sync: { try worker.onRequeue(task: task) }, async: { { [worker = Shared(value: worker)] in try await worker.value.onRequeue(task: task) } })
            }
        }
        table.on_starvation = { instance, seconds, error in
            WorkerAPITable.run(instance, error) { worker in
                try worker.handlerForms.call(.onStarvation, sync: { try worker.onStarvation(timeWithNoTasks: seconds) },
                                             async: { { [worker = Shared(value: worker)] in try await worker.value.onStarvation(timeWithNoTasks: seconds) } })
            }
        }
        table.on_stop = { instance, task, length, error in
            WorkerAPITable.run(instance, task, length, error) { worker, task in
                try worker.handlerForms.call(.onStop, sync: { try worker.onStop(task: task) }, async: { { [worker = Shared(value: worker)] in try await worker.value.onStop(task: task) } })
            }
        }
        fillAsync(&table)
        // Handlers the class does not override are NULL: the host skips them.
        leaveOut(&table, except: HandlerOverrides.of(type(of: worker)))
        table.destroy = { instance in
            guard let instance else { return }
            Unmanaged<Worker>.fromOpaque(instance).release()
        }
        return table
    }

    static func worker(_ instance: UnsafeMutableRawPointer) -> Worker {
        Unmanaged<Worker>.fromOpaque(instance).takeUnretainedValue()
    }

    /// Runs a worker method and maps what it throws to a status.
    static func run(_ instance: UnsafeMutableRawPointer?, _ error: UnsafePointer<sergeant_output>?,
                    _ body: (Worker) throws -> Void) -> sergeant_status {
        guard let instance else { return SERGEANT_INVALID }
        do {
            try body(worker(instance))
            return SERGEANT_OK
        } catch let interrupt as WorkerInterrupt {
            return interrupt.outcome.status
        } catch let failure {
            write(Worker.failureText(of: failure), to: error)
            return SERGEANT_FAILURE
        }
    }

    /// Runs a worker method on a task decoded from the host's msgpack bytes.
    static func run(_ instance: UnsafeMutableRawPointer?, _ bytes: UnsafePointer<UInt8>?, _ length: Int,
                    _ error: UnsafePointer<sergeant_output>?,
                    _ body: (Worker, SergeantTask) throws -> Void) -> sergeant_status {
        let task: SergeantTask
        let buffer = UnsafeRawBufferPointer(start: bytes, count: length)
        let cache = TaskThreadState.current
        if let cached = cache.task(for: buffer) {
            task = cached
        } else {
            do {
                task = try SergeantTask(messagePack: buffer)
            } catch let failure {
                write("the host passed a task that is not readable: \(failure)", to: error)
                return SERGEANT_INVALID
            }
            cache.store(task, for: buffer)
        }
        return WorkerAPITable.run(instance, error) { worker in try body(worker, task) }
    }
}

// MARK: - TaskThreadState

/// What a thread of the host's executor carries from one call to the next: the last task
/// decoded on it (the host passes the same bytes to pre_work, work, post_work and the
/// outcome's handler, and decoding them once is enough) and the trace id of the task whose
/// `work` is running.
final class TaskThreadState {
    private var bytes: [UInt8] = []
    private var task: SergeantTask?
    /// The trace id of the task whose `work` runs on this thread (nil outside `work`).
    var workingTraceID: String?
    /// Set by a default (not overridden) synchronous `work` or handler: the async form is
    /// the one to run.
    var syncDefaultReached = false

    /// This thread's cache.
    static var current: TaskThreadState {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<TaskThreadState>.fromOpaque(existing).takeUnretainedValue()
        }
        let cache = TaskThreadState()
        pthread_setspecific(key, Unmanaged.passRetained(cache).toOpaque())
        return cache
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<TaskThreadState>.fromOpaque(pointer).release() }
        }
        return key
    }()

    /// The cached task when `buffer` holds the same bytes.
    func task(for buffer: UnsafeRawBufferPointer) -> SergeantTask? {
        guard let task, bytes.count == buffer.count else { return nil }
        guard let other = buffer.baseAddress else { return bytes.isEmpty ? task : nil }
        return bytes.withUnsafeBytes { memcmp($0.baseAddress!, other, buffer.count) == 0 } ? task : nil
    }

    /// Remembers a decoded task.
    func store(_ task: SergeantTask, for buffer: UnsafeRawBufferPointer) {
        bytes = Array(buffer)
        self.task = task
    }
}
