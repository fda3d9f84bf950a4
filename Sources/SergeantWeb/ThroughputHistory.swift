import SergeantBroker
import SergeantCore
import Synchronization

// MARK: - ThroughputHistory

/// Tasks processed per second over the last hour, for the chart: a sample of every queue's
/// `processed` counter every ``interval`` seconds, the rate being the difference between two
/// samples. Bounded: the oldest sample goes when ``capacity`` is reached.
public final class ThroughputHistory: Sendable {
    /// One point of the chart.
    public struct Point: Sendable, Equatable {
        /// Unix time of the sample.
        public var time: Double
        /// Tasks processed per second (all queues) since the previous sample.
        public var rate: Double
    }

    /// Seconds between samples.
    public let interval: Double
    /// Samples kept at most.
    public let capacity: Int
    private let samples = Synchronization.Mutex<[(time: Double, processed: Int)]>([])

    /// An empty history.
    public init(interval: Double, capacity: Int) {
        self.interval = interval
        self.capacity = max(2, capacity)
    }

    /// Takes a sample from `snapshot` unless the last one is less than ``interval`` old.
    public func sampleIfDue(_ snapshot: FleetSnapshot) {
        let processed = snapshot.queues.reduce(0) { $0 + ($1.totals?.processed ?? 0) }
        samples.withLock { samples in
            if let last = samples.last, snapshot.takenAt - last.time < interval * 0.95 { return }
            samples.append((snapshot.takenAt, processed))
            if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
        }
    }

    /// The rates between consecutive samples, oldest first (a counter that went down, after a
    /// broker was emptied, counts as 0).
    public var points: [Point] {
        samples.withLock { samples in
            guard samples.count > 1 else { return [] }
            return (1..<samples.count).map { index in
                let (previous, current) = (samples[index - 1], samples[index])
                let seconds = max(current.time - previous.time, 0.001)
                return Point(time: current.time, rate: Double(max(current.processed - previous.processed, 0)) / seconds)
            }
        }
    }
}
