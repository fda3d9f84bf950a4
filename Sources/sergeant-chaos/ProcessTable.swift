import Foundation
import SergeantTestSupport

// MARK: - ProcessTable

/// The processes of this machine as /proc shows them: to find this run's supervisors and
/// workers, and whether one still runs.
enum ProcessTable {
    /// What /proc says about a process: its parent and whether it still runs (a zombie does not).
    static func status(of pid: pid_t) -> (parent: pid_t, running: Bool)? {
        ProcessProbe.status(of: pid)
    }

    /// Live processes whose environment holds `token` (the run's unique CHAOS_OUTPUT entry): the
    /// supervisors and workers of this run, including any that outlived their supervisor.
    static func carrying(_ token: String) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let needle = Array(token.utf8) + [0]
        var found: [pid_t] = []
        for entry in entries {
            guard let pid = pid_t(entry), pid != getpid(), let environment = readSmallBytes("/proc/\(pid)/environ") else { continue }
            let text = [0] + environment
            guard contains(text, [0] + needle), status(of: pid)?.running == true else { continue }
            found.append(pid)
        }
        return found
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        var index = 0
        while index + needle.count <= haystack.count {
            if haystack[index] == needle[0] && haystack[index..<index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    private static func readSmallBytes(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            result += buffer[0..<count]
        }
        return result
    }
}
