// MARK: - RequestBuffer

/// Commands in Redis's wire format (RESP arrays of bulk strings), written straight from the
/// arguments into memory kept between round trips: no per-command arrays of copies, lengths
/// and pointers, and no formatting pass in hiredis. ``RedisConnection`` hands the bytes to its
/// ``RedisStream`` in one write.
struct RequestBuffer: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes written.
    private(set) var count = 0
    /// Complete commands written (`begin` calls).
    private(set) var commands = 0
    static let initialCapacity = 4096
    /// A buffer grown past this (a bulk push) is released after its round trip.
    static let keptCapacity = 1 << 20
    /// Room for a decimal number of up to 20 digits, its `*` or `$` and CRLF.
    private static let headerRoom = 24

    init() {
        capacity = Self.initialCapacity
        base = .allocate(capacity: capacity)
    }

    deinit {
        base.deallocate()
    }

    /// The encoded commands.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Empties the buffer, keeping its memory.
    mutating func reset() {
        count = 0
        commands = 0
    }

    /// Releases the memory of an unusually large request.
    mutating func trim() {
        guard capacity > Self.keptCapacity else { return }
        base.deallocate()
        capacity = Self.initialCapacity
        base = .allocate(capacity: capacity)
    }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        let larger = max(capacity * 2, needed)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.update(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = larger
    }

    /// Writes one command.
    mutating func append(_ arguments: [[UInt8]]) {
        begin(arguments: arguments.count)
        reserve(arguments)
        for argument in arguments { add(argument) }
    }

    /// Writes one command given as strings.
    mutating func append(_ arguments: [String]) {
        begin(arguments: arguments.count)
        for argument in arguments { add(argument) }
    }

    /// Makes room for `arguments` (and `extra` bytes) at once, so a large command grows the
    /// buffer once rather than by doubling.
    mutating func reserve(_ arguments: [[UInt8]], extra: Int = 0) {
        var size = extra
        for argument in arguments { size += argument.count + Self.headerRoom }
        reserve(size)
    }

    /// Starts a command of `count` arguments; exactly `count` calls to `add` must follow.
    mutating func begin(arguments: Int) {
        commands += 1
        reserve(Self.headerRoom)
        writeHeader(UInt8(ascii: "*"), arguments)
    }

    /// Writes one argument.
    mutating func add(_ argument: UnsafeRawBufferPointer) {
        reserve(argument.count + Self.headerRoom + 2)
        writeHeader(UInt8(ascii: "$"), argument.count)
        if let source = argument.baseAddress {
            (base + count).update(from: source.assumingMemoryBound(to: UInt8.self), count: argument.count)
            count += argument.count
        }
        base[count] = 13
        base[count + 1] = 10
        count += 2
    }

    /// Writes one argument.
    mutating func add(_ argument: [UInt8]) {
        argument.withUnsafeBytes { add($0) }
    }

    /// Appends commands encoded beforehand (`commands` complete ones; a trailing command may
    /// be left open for `add` calls that follow).
    mutating func append(encoded: [UInt8], commands added: Int) {
        reserve(encoded.count)
        encoded.withUnsafeBufferPointer { source in
            (base + count).update(from: source.baseAddress!, count: source.count)
        }
        count += encoded.count
        commands += added
    }

    /// A copy of the bytes written, for ``append(encoded:commands:)``.
    var encoded: [UInt8] { Array(bytes) }

    /// Writes one argument given as a string (its UTF-8 bytes).
    mutating func add(_ argument: String) {
        var argument = argument
        argument.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }

    /// Writes `marker`, a non-negative number in decimal and CRLF (room already reserved).
    private mutating func writeHeader(_ marker: UInt8, _ value: Int) {
        base[count] = marker
        var digits = 1
        var rest = UInt(value) / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var remaining = UInt(value)
        var index = count + digits
        while index > count {
            base[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
            index -= 1
        }
        count += digits + 1
        base[count] = 13
        base[count + 1] = 10
        count += 2
    }
}
