import SergeantCore

// MARK: - A server that is loading its dataset

/// Just after a restart, redis-server accepts connections while it loads its dataset (the
/// append-only file, the RDB) and refuses every data command with `-LOADING` without running
/// it. Such a reply says nothing about the data: taken at face value, a `GET` of the pop's
/// batch id answers "this pop did not run" when the pop ran before the restart, and the pop
/// sent again deletes the batch it had moved (issue 15: a chaos run lost one batch of 10 that
/// way). So the connection never hands a `LOADING` refusal to its caller: it waits until the
/// server has loaded, with the reconnect backoff, and sends the commands again (they did not
/// run, so that is safe even for a transaction: a refused command aborts it, EXECABORT).
extension RedisConnection {
    /// True for the reply of a command that the server refused because it is loading.
    static func isLoadingRefusal(_ reply: RedisReply) -> Bool {
        if case .error(let message) = reply { return message.hasPrefix("LOADING") }
        return false
    }

    /// The error to retry on when any of `replies` is a ``isLoadingRefusal(_:)``, or nil.
    func loadingFailure(in replies: some Sequence<RedisReply>) -> BrokerError? {
        guard let refusal = replies.first(where: Self.isLoadingRefusal), case .error(let message) = refusal else { return nil }
        return BrokerError("redis \(node) is loading its dataset after a restart (\(message)); nothing ran",
                           reason: .serverLoading)
    }
}

// MARK: - Piggybacked commands

extension RedisConnection {
    /// Commands waiting to go out ahead of a round trip (``piggyback(_:)``), in the wire
    /// format, with where each starts, so that one refused unrun can be sent again alone.
    struct Piggybacked {
        var bytes: [UInt8] = []
        var starts: [Int] = []

        /// How many commands.
        var count: Int { starts.count }

        /// The bytes of command `index`.
        func command(_ index: Int) -> ArraySlice<UInt8> {
            bytes[starts[index]..<(index + 1 < starts.count ? starts[index + 1] : bytes.count)]
        }
    }
}
