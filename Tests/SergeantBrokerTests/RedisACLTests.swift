import Foundation
import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// ACL users against a real redis-server started with an ACL file: `AUTH user password`, and
/// each refusal (a command, a key, a command of a Lua script, a login) as a matchable
/// ``BrokerError/Reason`` whose message names what to add.
final class RedisACLTests: XCTestCase {
    var server: RedisServer!
    let logs = CapturedLogs()

    override func tearDown() {
        server = nil
    }

    func broker(user: String, password: String?) -> Broker {
        let node = RedisNode(host: "127.0.0.1", port: server.port, username: user, password: password)
        return Broker(connector: RedisConnector(nodes: [node], logger: logs.logger, reconnectTimeout: 30), encoder: TaskEncoder())
    }

    func reason(_ body: () throws -> Void) -> (BrokerError.Reason?, String, Double) {
        let start = MonotonicClock.now
        do {
            try body()
            XCTFail("no error")
        } catch let error as BrokerError {
            return (error.reason, error.message, MonotonicClock.now - start)
        } catch {
            XCTFail("not a BrokerError: \(error)")
        }
        return (nil, "", 0)
    }

    let task = SergeantTask(kwargs: ["n": .int(1)])

    func testAUserLogsInAndIsToldWhichCommandOrKeyItLacks() throws {
        server = try RedisServer(options: .init(aclUsers: [
            "user pusher on >pw ~q ~q.* -@all +info +config|get +rpush +llen +zcard +zcount +evalsha +script|load",
        ]))
        let broker = broker(user: "pusher", password: "pw")
        try broker.push(tasks: [task], queue: "q")
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: true), 1)

        let (command, message, _) = reason { try broker.push(tasks: [task], queue: "q", priority: .high) }
        XCTAssertEqual(command, .noPermission(command: "lpush", keys: false))
        XCTAssertTrue(message.contains("may not run LPUSH") && message.contains("ACL SETUSER pusher +lpush"), message)

        let (key, keyMessage, _) = reason { try broker.push(tasks: [task], queue: "other") }
        XCTAssertEqual(key, .noPermission(command: "rpush", keys: true))
        XCTAssertTrue(keyMessage.contains("key pattern"), keyMessage)

        // The pop script runs LPOP, which the user may not: named although the script ran it.
        let (script, scriptMessage, _) = reason { _ = try broker.pop(queue: "q", count: 1) }
        XCTAssertEqual(script, .noPermission(command: "lpop", keys: false))
        XCTAssertTrue(scriptMessage.contains("+lpop"), scriptMessage)

        // Redis 7.0 does not name a command a script may not run: the script's commands are listed.
        let connection = RedisConnection(node: RedisNode(host: "127.0.0.1", port: server.port, username: "pusher", password: "pw"),
                                         logger: logs.logger)
        let (inScript, inScriptMessage, _) = reason {
            _ = try connection.evaluate(RedisScripts.popScript, keys: ["q", "q.delayed"], arguments: [Array("1".utf8), Array("0".utf8)])
        }
        XCTAssertEqual(inScript, .noPermission(command: "evalsha", keys: false))
        XCTAssertTrue(inScriptMessage.contains("add +lpop +zrangebyscore +zremrangebyrank"), inScriptMessage)
    }

    func testAWrongPasswordOrNoneFailsAtOnce() throws {
        server = try RedisServer(options: .init(extraArguments: ["--requirepass", "secret"]))
        let (wrong, message, seconds) = reason { try broker(user: "default", password: "nope").push(tasks: [task], queue: "q") }
        XCTAssertEqual(wrong, .authenticationFailed)
        XCTAssertTrue(message.contains("refused the login of user 'default'"), message)
        XCTAssertFalse(message.contains("nope"), "the password is never echoed")
        XCTAssertLessThan(seconds, 5, "a refused login is not retried for the reconnect timeout")

        let anonymous = Broker(connector: RedisConnector(nodes: [RedisNode(host: "127.0.0.1", port: server.port)], logger: logs.logger),
                               encoder: TaskEncoder())
        let (none, noneMessage, _) = reason { try anonymous.push(tasks: [task], queue: "q") }
        XCTAssertEqual(none, .authenticationRequired)
        XCTAssertTrue(noneMessage.contains("wants a password"), noneMessage)
    }
}
