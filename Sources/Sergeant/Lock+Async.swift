// MARK: - Async lock calls

/// The lock calls in async form, for `work(task:) async`: the host call runs on a dedicated
/// thread (an acquire may wait for seconds) while the Swift task is suspended, so other
/// tasks keep the cooperative pool.
extension Lock {
    /// Async form of ``acquire(timeout:checkInterval:ttl:)``.
    @discardableResult
    public func acquire(timeout: Double? = nil, checkInterval: Double = 1, ttl: Int = 60) async throws -> Bool {
        try await BlockingCalls.offload { [self] in try acquire(timeout: timeout, checkInterval: checkInterval, ttl: ttl) }
    }

    /// Async form of ``release()``.
    @discardableResult
    public func release() async throws -> Bool {
        try await BlockingCalls.offload { [self] in try release() }
    }

    /// Async form of ``isLocked()``.
    public func isLocked() async throws -> Bool {
        try await BlockingCalls.offload { [self] in try isLocked() }
    }

    /// Async form of ``setTTL(_:)``.
    @discardableResult
    public func setTTL(_ ttl: Int) async throws -> Bool {
        try await BlockingCalls.offload { [self] in try setTTL(ttl) }
    }

    /// Async form of ``getTTL()``.
    public func getTTL() async throws -> Int? {
        try await BlockingCalls.offload { [self] in try getTTL() }
    }
}
