import Foundation
import SergeantBroker

// MARK: - AppendOnlyFile

/// redis-server's append-only files (Redis 7: appendonlydir with a manifest), read back as
/// the list of write commands, to trace where a lost task went.
struct AppendOnlyFile {
    /// One write command.
    struct Command {
        /// Byte offset of the command in the concatenated incremental files.
        var offset: Int
        /// The command name, upper case.
        var name: String
        /// Arguments that are not tasks.
        var words: [String]
        /// Task numbers among the arguments.
        var tasks: [Int]
        /// Arguments that are tasks but not numbered ones (the poison task).
        var otherTasks: Int

        var summary: String {
            var text = ([name] + words).joined(separator: " ")
            if !tasks.isEmpty { text += " [\(tasks.count) task(s) \(tasks.first!)...\(tasks.last!)]" }
            if otherTasks > 0 { text += " [\(otherTasks) other task(s)]" }
            return text
        }
    }

    let directory: String

    init(directory: String) {
        self.directory = directory + "/appendonlydir"
    }

    /// The incremental files, in manifest order.
    var files: [String] {
        guard let manifest = try? String(contentsOfFile: "\(directory)/appendonly.aof.manifest", encoding: .utf8) else { return [] }
        return manifest.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 6, fields[0] == "file", fields[5] == "i" else { return nil }
            return "\(directory)/\(fields[1])"
        }
    }

    /// Bytes in the incremental files.
    var size: Int {
        files.reduce(0) { total, path in
            total + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        }
    }

    /// What an argument of a command is.
    enum Argument {
        case numbered(Int)
        case other
        case none
    }

    /// Every command; `classify` tells which arguments are tasks (or dead-letter entries).
    /// The files are RESP (arrays of bulk strings), read with hiredis's reply parser; reading
    /// stops at the first thing that is not a command (a truncated tail, say).
    func commands(classify: ([UInt8]) -> Argument) -> [Command] {
        let reader = RedisReplyReader()
        var result: [Command] = []
        for path in files {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            do {
                try reader.feed([UInt8](data))
                while true {
                    let offset = reader.offset
                    guard let reply = try reader.next() else { break }
                    guard let arguments = Self.arguments(of: reply) else { return result }
                    guard let first = arguments.first else { continue }
                    result.append(Self.command(at: offset, name: first, arguments: arguments.dropFirst(), classify: classify))
                }
            } catch {
                return result
            }
        }
        return result
    }

    /// The arguments of a command: an array of bulk strings; nil for any other reply.
    private static func arguments(of reply: RedisReply) -> [[UInt8]]? {
        guard case .array(let items) = reply else { return nil }
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(items.count)
        for item in items {
            guard case .bytes(let argument) = item else { return nil }
            arguments.append(argument)
        }
        return arguments
    }

    private static func command(at offset: Int, name: [UInt8], arguments: ArraySlice<[UInt8]>,
                                classify: ([UInt8]) -> Argument) -> Command {
        var command = Command(offset: offset, name: String(decoding: name, as: UTF8.self).uppercased(), words: [], tasks: [], otherTasks: 0)
        for argument in arguments {
            switch argument.count > 16 ? classify(argument) : .none {
            case .numbered(let n): command.tasks.append(n)
            case .other: command.otherTasks += 1
            case .none: command.words.append(String(decoding: argument.prefix(60), as: UTF8.self))
            }
        }
        return command
    }
}
