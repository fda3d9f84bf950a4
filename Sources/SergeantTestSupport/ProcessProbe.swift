import Foundation

// MARK: - ProcessProbe

/// What Linux's /proc says about a running process: its resident memory, its open file
/// descriptors and its children. For the soak (`make soak`) and tests that watch a worker's
/// resources; every reading is nil once the process is gone.
public enum ProcessProbe {
    /// VmRSS of `/proc/PID/status`, in kB.
    public static func residentKilobytes(_ pid: pid_t) -> Int? {
        statusField("VmRSS", of: pid)
    }

    /// VmHWM (the peak of VmRSS) of `/proc/PID/status`, in kB.
    public static func peakResidentKilobytes(_ pid: pid_t) -> Int? {
        statusField("VmHWM", of: pid)
    }

    /// The number of entries of `/proc/PID/fd`: the process's open file descriptors.
    public static func openDescriptors(_ pid: pid_t) -> Int? {
        guard let directory = opendir("/proc/\(pid)/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in name[0] == UInt8(ascii: ".") }
            if !isDot { count += 1 }
        }
        return count
    }

    /// What each open descriptor of the process refers to (`3 -> socket:[1234]`), in descriptor order.
    public static func descriptorTargets(_ pid: pid_t) -> [String] {
        let directory = "/proc/\(pid)/fd"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap(Int.init).sorted().map { descriptor in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(descriptor)")) ?? "?"
            return "\(descriptor) -> \(target)"
        }
    }

    /// The live processes whose parent is `pid` (from `/proc/*/stat`), in pid order.
    public static func children(of pid: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { pid_t($0) }.filter { child in
            guard let status = status(of: child) else { return false }
            return status.parent == pid && status.running
        }.sorted()
    }

    /// A process's parent and whether it still runs (a zombie does not), from `/proc/PID/stat`.
    public static func status(of pid: pid_t) -> (parent: pid_t, running: Bool)? {
        guard let text = read("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count >= 2, let parent = pid_t(fields[1]) else { return nil }
        return (parent, fields[0] != "Z" && fields[0] != "X")
    }

    /// A `NAME:   123 kB` line of `/proc/PID/status`, its number.
    static func statusField(_ name: String, of pid: pid_t) -> Int? {
        guard let text = read("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1).filter(\.isNumber))
        }
        return nil
    }

    /// A small /proc file's text (read with read(2): /proc files report size 0).
    static func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            result += buffer[0..<count]
        }
        return String(decoding: result, as: UTF8.self)
    }
}
