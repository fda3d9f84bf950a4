import SergeantCore

// MARK: - ACL permissions

/// A NOPERM reply, or a script's refusal of a command by the ACL, thrown as a
/// ``BrokerError`` whose reason is ``BrokerError/Reason/noPermission(command:keys:)``: it
/// names the command and the ACL rule to add, instead of an error reply that each caller
/// words its own way.
extension RedisConnection {
    /// Throws when `reply` is the ACL's refusal of the command `arguments` start with (or of
    /// a command of `script`, when the reply is one of EVALSHA's).
    func checkPermission(_ reply: RedisReply, command: @autoclosure () -> String, script: LuaScript? = nil) throws(BrokerError) {
        guard case .error(let message) = reply else { return }
        if message.hasPrefix("NOPERM") {
            throw noPermission(message, command: Self.refusedCommand(message) ?? command().lowercased(),
                               keys: message.contains("keys"))
        }
        // Redis 7.0 words a script's refusal "ERR The user executing the script can't run this
        // command or subcommand" (or "can't access at least one of the keys") without the name.
        if message.hasPrefix("ERR The user executing the script can't") {
            let commands = script.map { Self.commands(of: $0) } ?? []
            let rules = commands.map { "+" + $0 }.joined(separator: " ")
            let keys = message.contains("keys")
            throw BrokerError("redis \(node): the ACL user '\(node.username ?? "default")' may not "
                + (keys ? "touch a key" : "run a command") + " of a Lua script (\(message)). The script runs "
                + (commands.isEmpty ? "commands the README lists" : commands.joined(separator: ", "))
                + (keys ? "; add a key pattern that covers the queue's keys (see README, ACL users)"
                        : "; add \(rules.isEmpty ? "them" : rules) to the user's rules (see README, ACL users)"),
                reason: .noPermission(command: "evalsha", keys: keys))
        }
    }

    /// ``checkPermission(_:command:script:)`` for every reply of a pipeline (and the replies
    /// of a transaction's EXEC).
    func checkPermissions(_ replies: [RedisReply], commands: (Int) -> String) throws(BrokerError) {
        for (index, reply) in replies.enumerated() {
            try checkPermission(reply, command: commands(index))
            if case .array(let inner) = reply {
                for reply in inner { try checkPermission(reply, command: "exec") }
            }
        }
    }

    private func noPermission(_ message: String, command: String, keys: Bool) -> BrokerError {
        let user = node.username ?? "default"
        if keys {
            return BrokerError("redis \(node): the ACL user '\(user)' may not touch a key of \(command.uppercased()) (\(message))."
                + " Add a key pattern that covers the queue's keys, e.g. ~QUEUE ~QUEUE.* (see README, ACL users)",
                reason: .noPermission(command: command, keys: true))
        }
        return BrokerError("redis \(node): the ACL user '\(user)' may not run \(command.uppercased()) (\(message))."
            + " Add +\(command) to its rules: ACL SETUSER \(user) +\(command) (see README, ACL users)",
            reason: .noPermission(command: command, keys: false))
    }

    /// `config|get` of "NOPERM this user has no permissions to run the 'config|get' command".
    static func refusedCommand(_ message: String) -> String? {
        guard let open = message.firstIndex(of: "'") else { return nil }
        let rest = message[message.index(after: open)...]
        guard let close = rest.firstIndex(of: "'") else { return nil }
        return String(rest[..<close]).lowercased()
    }

    /// The commands `script` runs (`redis.call('NAME'` and `redis.pcall`), lower case, each once.
    static func commands(of script: LuaScript) -> [String] {
        var found: [String] = []
        var rest = Substring(script.source)
        while let range = rest.firstRange(of: "call(") {
            rest = rest[range.upperBound...]
            guard let quote = rest.first, quote == "'" || quote == "\"" else { continue }
            let name = rest.dropFirst().prefix { $0 != quote }
            let command = name.lowercased()
            if !command.isEmpty && !found.contains(command) { found.append(command) }
        }
        return found
    }
}

extension RequestBuffer {
    /// The lower-case name of the first command written ("?" when there is none): the
    /// second line of `*N\r\n$LENGTH\r\nNAME\r\n…`.
    var firstCommandName: String {
        let bytes = self.bytes
        var lines = 0
        var start = 0
        for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
            lines += 1
            if lines == 2 { start = index + 1 }
            if lines == 3 {
                let end = max(start, index - 1)
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self).lowercased()
            }
        }
        return "?"
    }
}
