import SergeantCore

// MARK: - Throughput history

/// The throughput chart's buckets in the SQLite file: one row per queue and 10 s bucket
/// (``RateBuckets``) with the runs processed and failed in it, added by the next write
/// transaction the worker makes anyway (its pop or acknowledgement), never by one of its own
/// while it works. The write that adds a bucket deletes the queue's rows older than
/// ``RateBuckets/history`` buckets, so a queue holds at most that many plus one.
extension LocalConnector: ThroughputRecords {
    /// A queue's bucket.
    struct StagedBucket: Hashable {
        var queue: String
        var bucket: Int
    }

    /// The table, created when missing.
    static let throughputSchema = """
        CREATE TABLE IF NOT EXISTS sergeant_throughput (
            queue TEXT NOT NULL,
            bucket INTEGER NOT NULL,
            processed INTEGER NOT NULL,
            failed INTEGER NOT NULL,
            PRIMARY KEY (queue, bucket)
        ) WITHOUT ROWID;
        """

    public func stage(_ counts: OutcomeCounts, _ keys: KeySpace, at time: Double) {
        guard counts.processed != 0 || counts.failed != 0 else { return }
        let key = StagedBucket(queue: keys.queue, bucket: RateBuckets.index(of: time))
        let sum = stagedThroughput[key] ?? (0, 0)
        stagedThroughput[key] = (sum.processed + counts.processed, sum.failed + counts.failed)
    }

    public func flushStaged() throws(BrokerError) {
        guard !stagedThroughput.isEmpty else { return }
        try write("add the throughput counts") { () throws(LocalFailure) in }
    }

    public func throughput(_ keys: KeySpace, buckets: ClosedRange<Int>) throws(BrokerError) -> [OutcomeCounts] {
        let database = database
        var counts = Array(repeating: OutcomeCounts(), count: buckets.count)
        try read("read the throughput of \(keys.queue)") { () throws(LocalFailure) in
            _ = try database.run("SELECT bucket, processed, failed FROM sergeant_throughput WHERE queue = ?1 AND bucket BETWEEN ?2 AND ?3",
                                 [.text(keys.queue), .int(Int64(buckets.lowerBound)), .int(Int64(buckets.upperBound))]) { row in
                let index = Int(row.int(0)) - buckets.lowerBound
                guard counts.indices.contains(index) else { return }
                counts[index].processed = Int(row.int(1))
                counts[index].failed = Int(row.int(2))
            }
        }
        return counts
    }

    /// Adds `staged` to its rows and trims each queue to ``RateBuckets/history`` buckets,
    /// inside the caller's transaction.
    static func add(_ staged: [StagedBucket: (processed: Int, failed: Int)], in database: LocalDatabase) throws(LocalFailure) {
        var newest: [String: Int] = [:]
        for (key, sum) in staged {
            _ = try database.run("""
                INSERT INTO sergeant_throughput (queue, bucket, processed, failed) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (queue, bucket) DO UPDATE SET processed = processed + excluded.processed, failed = failed + excluded.failed
                """, [.text(key.queue), .int(Int64(key.bucket)), .int(Int64(sum.processed)), .int(Int64(sum.failed))])
            newest[key.queue] = max(newest[key.queue] ?? key.bucket, key.bucket)
        }
        for (queue, bucket) in newest {
            _ = try database.run("DELETE FROM sergeant_throughput WHERE queue = ?1 AND bucket < ?2",
                                 [.text(queue), .int(Int64(bucket - RateBuckets.history))])
        }
    }
}
