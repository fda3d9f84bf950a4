import CoreMetrics
import Prometheus
import SergeantBroker
import SergeantCore

// MARK: - HostMetricsExporter

/// `sergeant-host --metrics-port`: one Prometheus registry holding the supervisor's own
/// metrics (through ``factory``, swift-metrics' door to it) and, when the host knows its
/// broker, the fleet's queues (``FleetMetrics``, read from the broker at each scrape), served
/// on `GET /metrics` by a ``MetricsServer``.
public final class HostMetricsExporter: Sendable {
    /// The swift-metrics factory the supervisor records into.
    public let factory: any MetricsFactory
    private let server: MetricsServer

    /// The port the server listens on.
    public var port: Int { server.port }

    /// Serves on `host:port`; with `broker`, each scrape adds the fleet's queues.
    public init(host: String, port: Int, broker: Broker?) throws(MetricsServerError) {
        let registry = PrometheusCollectorRegistry()
        factory = DescribedMetricsFactory(registry: registry, help: [
            "sergeant_worker_restarts_total": "Worker processes this supervisor started again after one ended.",
            "sergeant_supervised_workers": "Worker processes this supervisor runs.",
            "sergeant_supervised_worker_resident_bytes": "Resident memory of a worker process of this supervisor.",
        ])
        let fleet = FleetMetrics(registry: registry)
        server = try MetricsServer(host: host, port: port) {
            // A broker that cannot be read leaves the fleet's metrics as the last scrape saw them.
            if let broker, let snapshot = try? broker.snapshot() { fleet.update(with: snapshot) }
            return fleet.exposition()
        }
    }

    /// Stops serving.
    public func close() {
        server.close()
    }
}
