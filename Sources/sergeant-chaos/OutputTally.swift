import Foundation

// MARK: - OutputTally

/// Reads the workers' output file incrementally and counts runs per task number.
final class OutputTally {
    let path: String
    let total: Int
    private(set) var runs: [Int32]
    private(set) var distinct = 0
    private(set) var lines = 0
    private(set) var highest = 0
    private(set) var invalid: [String] = []
    private var offset: off_t = 0
    private var partial: [UInt8] = []

    init(path: String, total: Int) {
        self.path = path
        self.total = total
        runs = Array(repeating: 0, count: total + 1)
    }

    /// Extra runs: lines beyond the first of each number.
    var duplicated: Int { lines - distinct }

    /// Reads what was appended since the last call (complete lines only).
    func update() {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        guard lseek(descriptor, offset, SEEK_SET) == offset else { return }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            offset += off_t(count)
            for byte in buffer[0..<count] {
                if byte == UInt8(ascii: "\n") {
                    record(partial)
                    partial.removeAll(keepingCapacity: true)
                } else {
                    partial.append(byte)
                }
            }
        }
    }

    private func record(_ line: [UInt8]) {
        guard let number = Int(String(decoding: line, as: UTF8.self)), number >= 1, number <= total else {
            if invalid.count < 20 { invalid.append(String(decoding: line.prefix(80), as: UTF8.self)) }
            return
        }
        lines += 1
        runs[number] += 1
        if runs[number] == 1 { distinct += 1 }
        highest = max(highest, number)
    }

    /// Numbers that never ran.
    var missing: [Int] { (1...total).filter { runs[$0] == 0 } }
}
