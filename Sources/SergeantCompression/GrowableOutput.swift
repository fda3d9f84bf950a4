// MARK: - GrowableOutput

/// Output storage for the driver: uninitialized bytes that the C libraries
/// write into, grown by doubling, copied once into an exact-size array at the
/// end. (Growing a zero-filled `[UInt8]` instead costs a fill per growth and is
/// very slow in unoptimized builds.)
struct GrowableOutput: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int

    init(capacity: Int) {
        self.base = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    deinit {
        base.deallocate()
    }

    /// Moves to a buffer of `newCapacity` bytes, keeping the first `count`.
    mutating func grow(to newCapacity: Int, keeping count: Int) {
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// A copy of the first `count` bytes.
    func array(count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            buffer.baseAddress!.initialize(from: base, count: count)
            initializedCount = count
        }
    }
}
