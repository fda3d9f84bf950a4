#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSQLite
import SergeantCore

// MARK: - LocalValue

/// A value bound to a statement parameter.
enum LocalValue {
    /// An INTEGER.
    case int(Int64)
    /// A REAL.
    case double(Double)
    /// UTF-8 TEXT.
    case text(String)
    /// A BLOB; an empty array is a zero-length blob, never NULL.
    case blob([UInt8])
}

// MARK: - LocalFailure

/// An SQLite call that failed: its extended result code and SQLite's message.
struct LocalFailure: Error {
    /// The extended result code.
    let code: Int32
    /// `sqlite3_errmsg` at the time of the failure.
    let message: String
    /// The `errno` of the system call that failed under it (`sqlite3_system_errno`), 0 if none.
    var systemError: Int32 = 0

    /// True for SQLITE_BUSY in all its forms: another connection holds the lock; try again.
    var isBusy: Bool { code & 0xff == SQLITE_BUSY }
}

// MARK: - LocalRow

/// The row a statement is positioned on, valid only inside the row callback.
struct LocalRow {
    fileprivate let statement: OpaquePointer

    /// Column `index` as an integer.
    func int(_ index: Int32) -> Int64 {
        sqlite3_column_int64(statement, index)
    }

    /// Column `index` as a double.
    func double(_ index: Int32) -> Double {
        sqlite3_column_double(statement, index)
    }

    /// True when column `index` is NULL.
    func isNull(_ index: Int32) -> Bool {
        sqlite3_column_type(statement, index) == SQLITE_NULL
    }

    /// Column `index` as bytes (a zero-length blob is an empty array).
    func bytes(_ index: Int32) -> [UInt8] {
        // sqlite3_column_blob first, then sqlite3_column_bytes, as SQLite documents.
        guard let pointer = sqlite3_column_blob(statement, index) else { return [] }
        let count = Int(sqlite3_column_bytes(statement, index))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

// MARK: - LocalDatabase

/// One SQLite connection with its prepared statements, the busy retry loop and the
/// translation of SQLite's result codes into ``BrokerError`` sentences.
///
/// Used from one thread at a time (the connection is opened without SQLite's own mutex).
final class LocalDatabase {
    /// The database file.
    let path: String
    /// Seconds an operation keeps retrying while another process holds the file's lock.
    let busyTimeout: Double
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]

    /// Opens (creating when missing) the file; nothing is read from it yet.
    init(path: String, busyTimeout: Double) throws(BrokerError) {
        self.path = path
        self.busyTimeout = busyTimeout
        var opened: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &opened, flags, nil)
        guard code == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(opened)
            throw Self.describe(LocalFailure(code: code, message: message), path: path, busyTimeout: busyTimeout,
                                doing: "opening the queue file")
        }
        handle = opened
        sqlite3_extended_result_codes(handle, 1)
        // SQLite's own wait for a lock, in milliseconds; `retrying` adds the cases it skips.
        sqlite3_busy_timeout(handle, Int32(min(max(busyTimeout, 0), 86_400) * 1000))
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        // The last connection to close checkpoints the WAL into the file and removes it.
        sqlite3_close_v2(handle)
    }

    /// True when SQLite could open the file only for reading.
    var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    // MARK: Statements

    /// Runs `sql` (one statement, prepared once and cached) with `values` bound to ?1, ?2…,
    /// calling `row` for each result row; returns the number of rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: [LocalValue] = [], row: (LocalRow) -> Void = { _ in }) throws(LocalFailure) -> Int {
        let statement = try prepared(sql)
        // Reset at the end so that no statement keeps a read transaction open.
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .int(let number):
                code = sqlite3_bind_int64(statement, index, number)
            case .double(let number):
                code = sqlite3_bind_double(statement, index, number)
            case .text(let text):
                code = text.withCString { sqlite3_bind_text(statement, index, $0, Int32(text.utf8.count), Self.transient) }
            case .blob(let bytes) where bytes.isEmpty:
                code = sqlite3_bind_zeroblob(statement, index, 0)
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), Self.transient) }
            }
            guard code == SQLITE_OK else { throw failure(code) }
        }
        while true {
            let code = sqlite3_step(statement)
            switch code {
            case SQLITE_ROW:
                row(LocalRow(statement: statement))
            case SQLITE_DONE:
                return Int(sqlite3_changes(handle))
            default:
                throw failure(code)
            }
        }
    }

    /// Runs one or more statements that take no parameters, without caching them.
    func execute(_ sql: String) throws(LocalFailure) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        defer { sqlite3_free(errorMessage) }
        guard code == SQLITE_OK else {
            throw LocalFailure(code: sqlite3_extended_errcode(handle),
                               message: errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code)),
                               systemError: sqlite3_system_errno(handle))
        }
    }

    private func prepared(_ sql: String) throws(LocalFailure) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw failure(code) }
        statements[sql] = statement
        return statement
    }

    private func failure(_ code: Int32) -> LocalFailure {
        // The extended code of the last call carries the detail (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_…).
        let extended = sqlite3_extended_errcode(handle)
        return LocalFailure(code: extended & 0xff == code & 0xff ? extended : code, message: String(cString: sqlite3_errmsg(handle)),
                            systemError: sqlite3_system_errno(handle))
    }

    /// SQLITE_TRANSIENT: SQLite copies the bound bytes before the call returns.
    private static var transient: sqlite3_destructor_type {
        unsafeBitCast(-1 as Int, to: sqlite3_destructor_type.self)
    }

    // MARK: Transactions

    /// Runs `body`, again and again while another connection holds the lock (SQLITE_BUSY),
    /// until ``busyTimeout`` seconds have passed.
    func retrying<T>(_ body: () throws(LocalFailure) -> T) throws(LocalFailure) -> T {
        let deadline = MonotonicClock.now + busyTimeout
        var pauseMicroseconds: UInt32 = 500
        while true {
            do throws(LocalFailure) {
                return try body()
            } catch let failure where failure.isBusy && MonotonicClock.now < deadline {
                // Jitter so that processes that collided do not collide again.
                usleep(pauseMicroseconds + UInt32.random(in: 0...pauseMicroseconds))
                pauseMicroseconds = min(pauseMicroseconds * 2, 20_000)
            }
        }
    }

    /// Runs `body` in one transaction, retried as a whole on SQLITE_BUSY. `immediate` takes
    /// the write lock at BEGIN, so that two processes never read the same rows to change them.
    /// `durable` commits with `synchronous = FULL` (the WAL is fsynced before COMMIT returns,
    /// so the transaction survives a power cut, and so does every earlier one); otherwise the
    /// connection's `NORMAL` (a commit survives the process being killed, and the OS writes it
    /// out later).
    func transaction<T>(immediate: Bool, durable: Bool = false, _ body: () throws(LocalFailure) -> T) throws(LocalFailure) -> T {
        // The setting cannot change inside a transaction; outside one it costs no I/O.
        if durable { try run("PRAGMA synchronous = FULL") }
        defer { if durable { _ = try? run("PRAGMA synchronous = NORMAL") } }
        return try retrying { () throws(LocalFailure) -> T in
            if sqlite3_get_autocommit(handle) == 0 { try run("ROLLBACK") }
            try run(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
            do throws(LocalFailure) {
                let result = try body()
                try run("COMMIT")
                return result
            } catch {
                // Some errors end the transaction by themselves; roll back only an open one.
                if sqlite3_get_autocommit(handle) == 0 { _ = try? run("ROLLBACK") }
                throw error
            }
        }
    }

    // MARK: Errors

    /// `failure` as a sentence naming the file and what to do about it.
    func brokerError(_ failure: LocalFailure, doing what: String) -> BrokerError {
        Self.describe(failure, path: path, busyTimeout: busyTimeout, doing: what)
    }

    private static func describe(_ failure: LocalFailure, path: String, busyTimeout: Double, doing what: String) -> BrokerError {
        let detail = failure.message
        let problem: String
        var kind: BrokerError.Reason? = nil
        // Nothing of a failed transaction stays: SQLite rolls it back (or this connection does).
        let nothingWritten = "nothing of it was written (no task is lost or half-written)"
        let primary = failure.code & 0xff
        let errno = failure.systemError
        if primary == SQLITE_FULL || (primary == SQLITE_IOERR && [ENOSPC, EDQUOT, EFBIG].contains(errno)) {
            kind = .storageFull
            let cause = errno == EFBIG ? "the file size limit (ulimit -f) was reached" : "the disk is full"
            problem = "\(cause) where \(path) is (\(detail)); \(nothingWritten). Free space there, or point the"
                + " connector's file_path at a file system with room, then run it again"
        } else if primary == SQLITE_READONLY || (primary == SQLITE_IOERR && errno == EROFS) {
            kind = .storageNotWritable
            problem = "\(path) is not writable (\(detail)); \(nothingWritten). The local connector needs write access to the"
                + " file and to its directory, where SQLite keeps the -wal and -shm files: fix the permissions (or"
                + " remount the file system read-write), or point the connector's file_path at a writable file"
        } else {
            switch primary {
            case SQLITE_NOTADB:
                problem = "\(path) is not an SQLite database (\(detail)); move it away or point the connector's file_path at another file"
            case SQLITE_CORRUPT:
                problem = "\(path) is corrupt (\(detail)); move it away or point the connector's file_path at another file"
                    + " (`sqlite3 \(path) .recover` may salvage its items)"
            case SQLITE_CANTOPEN:
                let reason = fileProblem(path)
                if reason?.hasSuffix("is not writable") == true { kind = .storageNotWritable }
                problem = "cannot open \(path) (\(detail)): \(reason ?? "check that the file and its directory are writable")"
            case SQLITE_PERM, SQLITE_AUTH:
                problem = "permission denied on \(path) (\(detail))"
            case SQLITE_IOERR:
                problem = "I/O error on \(path) (\(detail), code \(failure.code), errno \(errno))"
            case SQLITE_BUSY:
                problem = "\(path) stayed locked by another connection for more than \(busyTimeout) s (\(detail))"
            case SQLITE_NOMEM:
                problem = "SQLite ran out of memory on \(path)"
            default:
                problem = "SQLite error on \(path): \(detail) (code \(failure.code))"
            }
        }
        return BrokerError("\(what) failed: \(problem)", reason: kind)
    }

    /// Why `path` cannot be opened, when the file system says so.
    private static func fileProblem(_ path: String) -> String? {
        var status = stat()
        if stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR { return "it is a directory" }
        let directory = path.lastIndex(of: "/").map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
        if stat(directory, &status) != 0 { return "the directory \(directory) does not exist" }
        if access(directory, W_OK) != 0 { return "the directory \(directory) is not writable" }
        return nil
    }
}
