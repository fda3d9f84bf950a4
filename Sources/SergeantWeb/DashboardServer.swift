#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import Hummingbird
import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantMetrics

// MARK: - DashboardServer

/// The web dashboard of `sergeant web`: a Hummingbird application over one ``Broker``.
///
/// Routes: `GET /` (the page), `GET /task` (one task), `GET /metrics` (the fleet in the
/// Prometheus format), `GET /api/snapshot` (the ``FleetSnapshot`` as JSON), `GET
/// /api/throughput` (the chart's ``ThroughputSample``s as JSON, read from the broker, so every
/// dashboard shows the same), and the state-changing ones, `POST /dead/requeue` and `POST
/// /dead/drop` (a queue's whole dead list, or with `entry` and `digest` one entry of it), which
/// need the page's CSRF token. With authentication configured every route needs it.
///
/// ```swift
/// let server = DashboardServer(broker: broker, settings: settings, logger: logger)
/// try await server.run()
/// ```
public final class DashboardServer: Sendable {
    /// The broker it reads and acts on.
    public let broker: Broker
    /// How it serves.
    public let settings: DashboardSettings
    let access: Access
    let logger: Logger
    /// One registry for the server's life, so that its counters only grow.
    let fleetMetrics = FleetMetrics()

    /// A server for `broker`; throws when `settings` are unsafe (``DashboardSettings/validate()``).
    public init(broker: Broker, settings: DashboardSettings, logger: Logger) throws(DashboardError) {
        try settings.validate()
        self.broker = broker
        self.settings = settings
        self.logger = logger
        access = Access(settings: settings)
    }

    /// The application; `onRunning` gets the port it listens on (useful with port 0).
    public func application(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// Serves until cancelled (or SIGINT/SIGTERM).
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await application(onRunning: onRunning).runService()
    }

    /// The routes, behind the authentication check.
    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: AccessMiddleware(access: access))
        router.get("/") { request, _ in self.page(notice: request.uri.queryParameters.get("done")) }
        router.get("/task") { request, _ in self.taskPage(request.uri.queryParameters) }
        router.get("/metrics") { _, _ in self.metrics() }
        router.get("/api/snapshot") { _, _ in self.snapshotJSON() }
        router.get("/api/throughput") { _, _ in self.throughputJSON() }
        router.post("/dead/requeue") { request, context in try await self.act(request, context) { queue, form throws(BrokerError) in
            if form["entry"] != nil { return try self.actOnEntry(queue, form, requeue: true) }
            let (requeued, kept) = try self.broker.requeueDeadLetters(queue: queue)
            return "requeued \(requeued) task(s) to \(queue)" + (kept > 0 ? "; \(kept) unreadable entries stay" : "")
        } }
        router.post("/dead/drop") { request, context in try await self.act(request, context) { queue, form throws(BrokerError) in
            if form["entry"] != nil { return try self.actOnEntry(queue, form, requeue: false) }
            try self.broker.purgeDeadLetters(queue: queue)
            return "dropped the dead letters of \(queue)"
        } }
        return router
    }

    // MARK: Handlers

    /// Requeues or drops the one dead letter that the form names by `entry` (its index on the
    /// page) and `digest` (of its bytes), wherever it is now.
    func actOnEntry(_ queue: String, _ form: [String: String], requeue: Bool) throws(BrokerError) -> String {
        guard let index = form["entry"].flatMap(Int.init), index >= 0, let digest = form["digest"], !digest.isEmpty else {
            return "the form names no entry: give entry=INDEX and digest=DIGEST"
        }
        let dead = broker.keys(queue).dead
        guard let entry = try broker.deadLetterEntry(queue: queue, index: index, digest: digest) else {
            return "entry \(index) of \(dead) is no longer there: it was requeued or dropped already"
        }
        let result = try requeue ? broker.requeueDeadLetter(entry, queue: queue) : broker.dropDeadLetter(entry, queue: queue)
        switch result {
        case .done: return requeue ? "requeued entry \(index) of \(dead) to \(queue)" : "dropped entry \(index) of \(dead)"
        case .gone: return "entry \(index) of \(dead) is no longer there: it was requeued or dropped already"
        case .unreadable(let why): return "entry \(index) of \(dead) holds no readable task (\(why)): drop it instead"
        }
    }

    func snapshot() throws(BrokerError) -> FleetSnapshot {
        try broker.snapshot(queues: settings.queues, connectorType: settings.connectorType)
    }

    func page(notice: String?) -> Response {
        do {
            let snapshot = try snapshot()
            let points = try broker.throughput(queues: snapshot.queues.map(\.name), at: snapshot.takenAt, buckets: settings.chartBuckets)
            var lists: [DashboardPage.DeadLetters] = []
            for queue in snapshot.queues {
                lists.append(.init(queue: queue.name, total: try broker.deadLetterCount(queue: queue.name),
                                   entries: try broker.deadLetterEntries(queue: queue.name, limit: settings.deadLetterLimit)))
            }
            let nonce = Access.randomToken()
            let page = DashboardPage(
                snapshot: snapshot, deadLetters: lists, points: points, csrfToken: access.csrfToken, scriptNonce: nonce,
                refreshSeconds: settings.refreshSeconds, notice: notice,
                decode: { [broker] letter in try? broker.encoder.decode(letter.task) })
            return Self.html(page.render(), nonce: nonce)
        } catch {
            return brokerFailure(error)
        }
    }

    func taskPage(_ query: Parameters) -> Response {
        guard let queue = query.get("queue"), let index = query.get("index").flatMap(Int.init), index >= 0, index < 10_000 else {
            return Self.plain(.badRequest, "give queue=NAME&index=N (0 to 9999), and in=dead or in=queue\n")
        }
        let place = query.get("in") == "dead" ? "dead" : "queue"
        do {
            var page = TaskPage(queue: queue, place: place, index: index, task: .failure(.init(message: "no task at this index")))
            if place == "dead" {
                let letters = try broker.deadLetters(queue: queue, limit: index + 1)
                guard index < letters.count else { return Self.plain(.notFound, "\(queue) has \(letters.count) dead letter(s)\n") }
                switch letters[index] {
                case .success(let letter):
                    page.reason = letter.reason
                    page.setAside = letter.date
                    page.task = Self.decoded(letter.task, broker.encoder)
                case .failure(let error):
                    page.task = .failure(.init(message: "unreadable entry: \(error.message)"))
                }
            } else {
                let items = try broker.peek(queue: queue, count: index + 1)
                guard index < items.count else { return Self.plain(.notFound, "\(queue) has \(items.count) waiting task(s) at its head\n") }
                page.task = Self.decoded(items[index], broker.encoder)
            }
            return Self.html(page.render(), nonce: nil)
        } catch {
            return brokerFailure(error)
        }
    }

    func metrics() -> Response {
        do {
            fleetMetrics.update(with: try snapshot())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: fleetMetrics.exposition())))
        } catch {
            return brokerFailure(error)
        }
    }

    func snapshotJSON() -> Response {
        json { () throws(BrokerError) -> FleetSnapshot in try snapshot() }
    }

    func throughputJSON() -> Response {
        json { () throws(BrokerError) -> [ThroughputSample] in
            let snapshot = try snapshot()
            return try broker.throughput(queues: snapshot.queues.map(\.name), at: snapshot.takenAt, buckets: settings.chartBuckets)
        }
    }

    /// What `read` returns, as JSON with sorted keys.
    func json<Reply: Encodable>(_ read: () throws(BrokerError) -> Reply) -> Response {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let body = try encoder.encode(try read())
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        } catch {
            if let error = error as? BrokerError { return brokerFailure(error) }
            return Self.plain(.internalServerError, "could not encode the reply: \(error)\n")
        }
    }

    /// A checked POST: reads the form, checks CSRF, runs `action` on its queue (and the whole
    /// form), redirects to `/`.
    func act(_ request: Request, _ context: BasicRequestContext,
             _ action: (String, [String: String]) throws(BrokerError) -> String) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 * 1024)
        let form = Access.form(String(buffer: body))
        if let refusal = access.csrfRefusal(form: form, headers: request.headers, authority: request.head.authority) {
            logger.warning("dashboard action refused", metadata: ["path": "\(request.uri.path)", "reason": "\(refusal)"])
            return Self.plain(.forbidden, "refused: \(refusal)\n")
        }
        guard let queue = form["queue"], !queue.isEmpty else { return Self.plain(.badRequest, "the form names no queue\n") }
        do {
            let done = try action(queue, form)
            logger.info("dashboard action", metadata: ["path": "\(request.uri.path)", "queue": "\(queue)", "result": "\(done)"])
            return Response(status: .seeOther, headers: [.location: "/?done=" + HTML.queryEscape(done)])
        } catch {
            return brokerFailure(error)
        }
    }

    // MARK: Responses

    static func decoded(_ stored: [UInt8], _ encoder: TaskEncoder) -> Result<SergeantTask, TaskPage.Unreadable> {
        do { return .success(try encoder.decode(stored)) } catch {
            return .failure(.init(message: "\(stored.count) bytes that are not a task: \(error)"))
        }
    }

    func brokerFailure(_ error: BrokerError) -> Response {
        logger.error("dashboard could not read the broker", metadata: ["error": "\(error.message)"])
        return Self.plain(.serviceUnavailable, "the broker could not be read: \(error.message)\n")
    }

    /// An HTML response with headers that keep the page to itself: nothing from the network,
    /// no script but the page's own (by nonce), forms to this server only, no framing.
    static func html(_ markup: String, nonce: String?) -> Response {
        let script = nonce.map { "'nonce-\($0)'" } ?? "'none'"
        return Response(status: .ok, headers: [
            .contentType: "text/html; charset=utf-8",
            .contentSecurityPolicy: "default-src 'none'; script-src \(script); style-src 'unsafe-inline'; img-src 'self' data:;"
                + " form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            // same-origin, not no-referrer: with no-referrer the browser sends "Origin: null" on the forms.
            HTTPField.Name("Referrer-Policy")!: "same-origin",
            .cacheControl: "no-store",
        ], body: ResponseBody(byteBuffer: ByteBuffer(string: markup)))
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
