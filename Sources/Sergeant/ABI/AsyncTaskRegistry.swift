import SergeantABI
import SergeantCore

// MARK: - AsyncTaskRegistry

/// The Swift tasks of one worker instance started through `work_async`, by handle, so that
/// `cancel` finds them. A handle is registered before its task starts, so a cancel that comes
/// before the task is attached (or a task that ends before it is) is never lost or stale.
final class AsyncTaskRegistry: @unchecked Sendable {
    private enum Slot {
        case starting(cancelled: Bool)
        case running(Task<Void, Never>)
    }

    private let lock = Mutex()
    private var last: sergeant_async_handle = 0
    private var slots: [sergeant_async_handle: Slot] = [:]

    /// A new handle (non-zero, never reused), registered as starting.
    func reserve() -> sergeant_async_handle {
        lock.withLock {
            last += 1
            slots[last] = .starting(cancelled: false)
            return last
        }
    }

    /// Attaches the task of `handle`; cancels it at once when a cancel came first. Does
    /// nothing when the task already ended.
    func attach(_ task: Task<Void, Never>, to handle: sergeant_async_handle) {
        let cancelNow: Bool = lock.withLock {
            guard case .starting(let cancelled) = slots[handle] else { return false }
            slots[handle] = .running(task)
            return cancelled
        }
        if cancelNow { task.cancel() }
    }

    /// Cancels the task of `handle`; ignored when it ended.
    func cancel(_ handle: sergeant_async_handle) {
        let task: Task<Void, Never>? = lock.withLock {
            switch slots[handle] {
            case .starting?:
                slots[handle] = .starting(cancelled: true)
                return nil
            case .running(let task)?:
                return task
            case nil:
                return nil
            }
        }
        task?.cancel()
    }

    /// The task of `handle` ended.
    func remove(_ handle: sergeant_async_handle) {
        lock.withLock { _ = slots.removeValue(forKey: handle) }
    }
}
