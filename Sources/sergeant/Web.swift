#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import SergeantBroker
import SergeantCore
import SergeantPluginLoader
import SergeantWeb

// MARK: - web

/// `sergeant web`: the dashboard (Sources/SergeantWeb) over the broker `--redis` names.
struct Web: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a web dashboard of the fleet: queues, throughput, workers, dead letters, /metrics.",
        discussion: """
            Binds 127.0.0.1 by default. Any other address needs --auth-token (clients send \
            'Authorization: Bearer TOKEN', or basic auth with the token as password) or basic-auth \
            credentials in the environment variable SERGEANT_WEB_BASIC_AUTH=USER:PASSWORD. \
            Requeue and drop are POSTs that carry the page's CSRF token.
            """
    )

    @Option(name: .customLong("redis"), help: "The Redis to show: redis://[:PASSWORD@]HOST:PORT/DB (or env SERGEANT_REDIS).")
    var redis: String?

    @Option(name: .customLong("host"), help: "The address to bind.")
    var host = "127.0.0.1"

    @Option(name: .customLong("port"), help: "The port to bind (0: any free one, printed at start).")
    var port = 8080

    @Option(name: .customLong("auth-token"), help: "A token clients must give (required off loopback unless basic auth is set).")
    var authToken: String?

    @Option(name: .customLong("task-name"), help: "A queue to show even without live workers; repeat for several.")
    var taskNames: [String] = []

    @Option(name: .customLong("refresh"), help: "Seconds between the page's reloads; 0 turns them off.")
    var refresh: Double = 5

    @Option(name: .customLong("retry-for"), help: "Seconds to keep retrying an unreachable Redis before giving up.")
    var retryFor: Double = 5

    func settings() throws -> DashboardSettings {
        var settings = DashboardSettings()
        settings.host = host
        settings.port = port
        settings.authToken = authToken
        settings.queues = taskNames
        settings.refreshSeconds = refresh
        if let basic = getenv("SERGEANT_WEB_BASIC_AUTH").map({ String(cString: $0) }), !basic.isEmpty {
            do { try settings.setBasicCredentials(basic) } catch { throw ValidationError("SERGEANT_WEB_BASIC_AUTH: \(error.message)") }
        }
        do { try settings.validate() } catch { throw ValidationError(error.message) }
        return settings
    }

    func validate() throws {
        do { _ = try Environment.redisNodes(option: redis) } catch { throw ValidationError(error.description) }
        _ = try settings()
    }

    func run() async throws {
        let logger = Logger(label: "sergeant-web") { SergeantLogHandler(label: $0) }
        let settings = try settings()
        var config = WorkerConfig(name: "sergeant-web", connector: .redis(nodes: [RedisNode()]))
        if let nodes = try Environment.redisNodes(option: redis) { config.connector = .redis(nodes: nodes) }
        let server: DashboardServer
        do {
            let broker = try Broker(config: config, logger: logger, reconnectTimeout: retryFor)
            server = try DashboardServer(broker: broker, settings: settings, logger: logger)
        } catch let error as BrokerError {
            throw CommandFailure(message: error.message, code: WorkerExitCode.invalidConfig.rawValue)
        }
        try await server.run { port in
            logger.info("dashboard listening", metadata: ["url": "http://\(settings.host):\(port)/"])
        }
    }
}
