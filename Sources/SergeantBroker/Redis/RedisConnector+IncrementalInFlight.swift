import SergeantCore

// MARK: - Tasks acknowledged one by one

extension RedisConnector: IncrementalInFlightRecords {
    public func popAdding(_ keys: KeySpace, count: Int, inFlightFor worker: String, alone: Bool) throws(BrokerError) -> AddedItems {
        let queue = keys.queue
        var added = AddedItems(items: [])
        for _ in connections.indices where added.items.count < count && !added.recovered && !added.recoveredWaiting {
            try onNextNode { connection throws(BrokerError) in
                batch += 1
                // The connection resends the script after a connection error; the batch id
                // makes a resent call return the items of the call that ran.
                let reply = try connection.evaluate(RedisScripts.popAddingInFlightScript, keys: [
                    queue, KeySpace.delayedSet(of: queue), keys.processing(worker), keys.processingSet,
                    keys.batch(worker), keys.recovered,
                ], arguments: [
                    Array(String(count - added.items.count).utf8), Array(String(unixTime()).utf8), Array(worker.utf8),
                    Array(String(batch).utf8), Array((alone && added.items.isEmpty ? "1" : "0").utf8),
                ])
                try collect(reply, into: &added.items, queue: queue)
                guard case .array(let elements) = reply, case .integer(let marker) = elements.last else {
                    throw BrokerError("pop from \(queue) failed: unexpected reply \(reply)")
                }
                added.recovered = marker < 0
                added.recoveredWaiting = marker > 0
            }
        }
        return added
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
