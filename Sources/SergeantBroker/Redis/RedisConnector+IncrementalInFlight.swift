import SergeantCore

// MARK: - Tasks acknowledged one by one

extension RedisConnector: IncrementalInFlightRecords {
    public func popAdding(_ keys: KeySpace, count: Int, inFlightFor worker: String) throws(BrokerError) -> [[UInt8]] {
        let queue = keys.queue
        var items: [[UInt8]] = []
        for _ in connections.indices where items.count < count {
            try onNextNode { connection throws(BrokerError) in
                batch += 1
                // The connection resends the script after a connection error; the batch id
                // makes a resent call return the items of the call that ran.
                let reply = try connection.evaluate(RedisScripts.popAddingInFlightScript, keys: [
                    queue, KeySpace.delayedSet(of: queue), keys.processing(worker), keys.processingSet,
                    keys.batch(worker), keys.recovered,
                ], arguments: [
                    Array(String(count - items.count).utf8), Array(String(unixTime()).utf8), Array(worker.utf8),
                    Array(String(batch).utf8),
                ])
                try collect(reply, into: &items, queue: queue)
            }
        }
        return items
    }

    public func forget(_ keys: KeySpace, worker: String, items: [[UInt8]]) throws(BrokerError) {
        guard !items.isEmpty else { return }
        let processing = Array(keys.processing(worker).utf8)
        let commands = items.map { [Array("LREM".utf8), processing, Array("1".utf8), $0] }
        try onEveryNode("acknowledging finished tasks") { connection throws(BrokerError) in
            for reply in try connection.pipeline(commands) {
                if case .error(let message) = reply { throw BrokerError("acknowledging a task of \(keys.queue) failed: \(message)") }
            }
        }
    }
}
