import ArgumentParser
import Foundation
import Hummingbird
import Logging
import SergeantClient

/// `web-app`: a Hummingbird 2 server whose `POST /signup` queues the welcome email for
/// sergeant's `send_welcome_email` worker instead of sending it inside the request.
@main
struct WebApp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web-app",
        abstract: "Serves POST /signup, which pushes a send_welcome_email task to sergeant."
    )

    @Option(help: "The Redis URL of the queues (default: $SERGEANT_REDIS, else redis://127.0.0.1:6379/0).")
    var redis: String?

    @Option(help: "The address to listen on.")
    var hostname = "127.0.0.1"

    @Option(help: "The port to listen on (0: a free one, logged once listening).")
    var port = 8080

    @Option(help: "The queue the signups go to: the worker's name.")
    var queue = "send_welcome_email"

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardOutput)
        let logger = Logger(label: "web-app")
        let url = redis ?? ProcessInfo.processInfo.environment["SERGEANT_REDIS"] ?? "redis://127.0.0.1:6379/0"
        let client = try SergeantClient(url: url)
        let queueName = queue
        defer { client.close() }

        let app = Application(
            router: SignupRoutes(queue: client.queue(queueName)).router(),
            configuration: ApplicationConfiguration(address: .hostname(hostname, port: port), serverName: "web-app"),
            onServerRunning: { channel in
                logger.info("web-app listening", metadata: [
                    "port": "\(channel.localAddress?.port ?? -1)", "queue": "\(queueName)",
                ])
            },
            logger: logger
        )
        try await app.runService()
    }
}
