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
public struct RedisURLError: Error, CustomStringConvertible {
    /// What is expected.
    public var description: String { "--redis/SERGEANT_REDIS is not a redis URL like redis://localhost:6379/0" }
}
