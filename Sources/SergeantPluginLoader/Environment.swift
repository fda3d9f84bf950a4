#if canImport(Glibc)
import Glibc
#endif
import SergeantCore

// MARK: - Environment

/// Process environment look-ups shared by the executables.
public enum Environment {
    /// The value of environment variable `name`.
    public static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// This process's command line: `CommandLine.arguments`, or `/proc/self/cmdline` when the
    /// runtime could not capture it (an LD_PRELOAD library such as libfaketime can hide it).
    public static func commandLine() -> [String] {
        if !CommandLine.arguments.isEmpty { return CommandLine.arguments }
        guard let file = fopen("/proc/self/cmdline", "r") else { return [] }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let count = fread(&buffer, 1, buffer.count, file), count > 0 { bytes += buffer[..<count] }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    /// The absolute path of the running executable (`/proc/self/exe`).
    public static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The Redis node a `--redis` option or, without it, `SERGEANT_REDIS` names; nil when
    /// neither is set. Throws a message for a value that is not a redis URL.
    public static func redisNodes(option: String?) throws(RedisURLError) -> [RedisNode]? {
        guard let url = option ?? value("SERGEANT_REDIS"), !url.isEmpty else { return nil }
        guard let node = RedisNode(url: url) else { throw RedisURLError() }
        return [node]
    }
}

/// A `--redis`/`SERGEANT_REDIS` value that is not a redis URL.
public struct RedisURLError: Error, Sendable, CustomStringConvertible {
    /// Creates the error.
    public init() {}

    /// What is expected.
    public var description: String { "--redis/SERGEANT_REDIS is not a redis URL like redis://localhost:6379/0: use \(RedisNode.urlForms)" }
}
