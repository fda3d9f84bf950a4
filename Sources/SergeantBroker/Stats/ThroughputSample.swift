import SergeantCore

// MARK: - ThroughputSample

/// One rate bucket of the throughput history (``Broker/throughput(queues:at:buckets:)``): what
/// the fleet's workers counted in ``RateBuckets/width`` seconds, summed over the queues asked
/// for. Read from the broker, so every dashboard draws the same chart.
public struct ThroughputSample: Codable, Sendable, Equatable {
    /// Unix time the bucket starts.
    public var time: Double
    /// Runs that ended in the bucket, whatever the outcome.
    public var processed: Int
    /// Runs whose `work` threw in the bucket.
    public var failed: Int

    /// Creates a sample.
    public init(time: Double, processed: Int, failed: Int) {
        self.time = time
        self.processed = processed
        self.failed = failed
    }

    /// Runs per second in the bucket.
    public var processedPerSecond: Double { Double(processed) / RateBuckets.width }
    /// Failed runs per second in the bucket.
    public var failedPerSecond: Double { Double(failed) / RateBuckets.width }
}
