import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SergeantTestSupport
import XCTest

/// Plugins-Examples/web_app end to end: a real redis-server, sergeant-host running the
/// example's async worker plugin, and the example's Hummingbird app, driven by a real HTTP POST.
final class WebAppExampleTests: XCTestCase {
    /// The app's executable, built by `make examples`.
    func appExecutable() throws -> String { try ProjectPaths.exampleExecutable("web-app") }

    func post(port: Int, path: String, body: String) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? -1, String(decoding: data, as: UTF8.self))
    }

    func testSignupQueuesTheWelcomeEmailAndTheWorkerSendsIt() async throws {
        let server = try RedisServer()
        let port = try freePort()
        let host = try ChildProcess([try ProjectPaths.executable("sergeant-host"),
                                     "--worker-module=\(try ProjectPaths.plugin("web_app"))", "--worker-class=Worker"],
                                    environment: ["SERGEANT_REDIS": server.url])
        // The Redis URL through the environment here; `--redis` below for the second case.
        let app = try ChildProcess([try appExecutable(), "--port", String(port)], environment: ["SERGEANT_REDIS": server.url])
        try waitUntil(timeout: 60, "the app to listen") { app.output.contains("web-app listening") }

        let accepted = try await post(port: port, path: "/signup", body: #"{"email":"a@example.com"}"#)
        XCTAssertEqual(accepted.status, 202, accepted.body + app.output)
        XCTAssertTrue(accepted.body.contains("send_welcome_email"), accepted.body)
        try waitUntil(timeout: 60, "the worker's log line") {
            host.output.contains("sent the welcome email to a@example.com")
        }

        let refused = try await post(port: port, path: "/signup", body: #"{"email":"not-an-address"}"#)
        XCTAssertEqual(refused.status, 400, refused.body)
        XCTAssertTrue(refused.body.contains("is not an address"), refused.body)

        app.signal(SIGTERM)
        XCTAssertEqual(app.wait(timeout: 30), 0, app.output)
        host.signal(SIGTERM)
        XCTAssertEqual(host.wait(timeout: 30), 0, host.output)
        XCTAssertFalse(host.output.contains("sent the welcome email to not-an-address"), host.output)
        XCTAssertTrue(app.output.contains("queued the welcome email"), app.output)
    }

    func testRedisOptionWinsOverTheEnvironment() async throws {
        let server = try RedisServer()
        let port = try freePort()
        let host = try ChildProcess([try ProjectPaths.executable("sergeant-host"),
                                     "--worker-module=\(try ProjectPaths.plugin("web_app"))", "--worker-class=Worker"],
                                    environment: ["SERGEANT_REDIS": server.url])
        // SERGEANT_REDIS names a port nothing listens on: only --redis reaches the server.
        let app = try ChildProcess([try appExecutable(), "--port", String(port), "--redis", server.url],
                                   environment: ["SERGEANT_REDIS": "redis://127.0.0.1:\(try freePort())/0"])
        try waitUntil(timeout: 60, "the app to listen") { app.output.contains("web-app listening") }
        let accepted = try await post(port: port, path: "/signup", body: #"{"email":"b@example.com"}"#)
        XCTAssertEqual(accepted.status, 202, accepted.body + app.output)
        try waitUntil(timeout: 60, "the worker's log line") {
            host.output.contains("sent the welcome email to b@example.com")
        }
        app.signal(SIGTERM)
        XCTAssertEqual(app.wait(timeout: 30), 0, app.output)
        host.signal(SIGTERM)
        XCTAssertEqual(host.wait(timeout: 30), 0, host.output)
    }
}
