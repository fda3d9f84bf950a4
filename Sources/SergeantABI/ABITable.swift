#if canImport(Glibc)
import Glibc
#endif

// MARK: - ABITable

/// The growth rule of `sergeant_plugin.h` (its TABLES section) for Swift: both function
/// tables start with their `size`, grow only at their end, and are read and written only
/// inside the size the other side gave. The host and the SDK both go through these helpers,
/// so the rule has one implementation.
package enum ABITable {
    /// The C `sizeof` of a table struct as this build compiled it. Imported C structs have
    /// the C layout; their stride includes any tail padding, as `sizeof` does.
    package static func compiledSize<Table>(_ type: Table.Type) -> Int {
        MemoryLayout<Table>.stride
    }

    /// The `size` a table reports (its first field), read without touching anything else.
    package static func reportedSize(_ table: UnsafeRawPointer) -> Int {
        table.load(as: Int.self)
    }

    /// Reads the table at `table` into a copy of this build's struct: only the first
    /// min(its reported size, this build's size) bytes are read; the rest of the copy stays
    /// as `empty` has it (zero: a missing function reads as nil). Returns the copy and the
    /// size the other side reported.
    package static func read<Table>(_ table: UnsafeRawPointer, into empty: Table) -> (table: Table, reportedSize: Int) {
        let reported = reportedSize(table)
        var copy = empty
        let length = min(max(reported, 0), compiledSize(Table.self))
        withUnsafeMutableBytes(of: &copy) { bytes in
            _ = memcpy(bytes.baseAddress!, table, length)
        }
        return (copy, reported)
    }

    /// True when a table of `reportedSize` bytes holds the field at `keyPath` (the first
    /// half of `SERGEANT_HAS_FIELD`; the caller checks the value for NULL).
    package static func covers<Table, Field>(_ reportedSize: Int, _ keyPath: KeyPath<Table, Field>) -> Bool {
        guard let offset = MemoryLayout<Table>.offset(of: keyPath) else { return false }
        return reportedSize >= offset + MemoryLayout<Field>.size
    }

    /// The room a host gave for a worker table: its preset `size`, or the 1.0 table's size
    /// when the host preset nothing (a 1.0 host). `SERGEANT_WORKER_API_ROOM` in C.
    package static func workerRoom(_ room: UnsafeRawPointer) -> Int {
        let preset = reportedSize(room)
        return preset != 0 ? preset : workerTableSize10
    }

    /// Writes the first min(this build's size, room) bytes of `table` into the room at
    /// `destination` and sets its `size` to the number written, which it returns. Never a
    /// byte past the room (`sergeant_write_worker_api` in C).
    @discardableResult
    package static func write(_ table: sergeant_worker_api, to destination: UnsafeMutableRawPointer) -> Int {
        let length = min(compiledSize(sergeant_worker_api.self), workerRoom(destination))
        let sizeField = MemoryLayout<Int>.size
        withUnsafeBytes(of: table) { bytes in
            if length > sizeField {
                _ = memcpy(destination + sizeField, bytes.baseAddress! + sizeField, length - sizeField)
            }
        }
        destination.storeBytes(of: length, as: Int.self)
        return length
    }

    /// sizeof(sergeant_worker_api) of ABI 1.0 (`SERGEANT_WORKER_API_SIZE_1_0`).
    package static let workerTableSize10 = MemoryLayout<sergeant_worker_api>.offset(of: \.destroy)! + MemoryLayout<UnsafeRawPointer>.size
    /// sizeof(sergeant_host_api) of ABI 1.0 (`SERGEANT_HOST_API_SIZE_1_0`).
    package static let hostTableSize10 = MemoryLayout<sergeant_host_api>.offset(of: \.should_stop)! + MemoryLayout<UnsafeRawPointer>.size
}
