import SergeantCore
@testable import SergeantBroker

// MARK: - FailingTransport

/// A ``RedisTransport`` over the real TCP one that loses a connection once, at the moment a
/// test chooses: the write it is armed for either never leaves (``Failure/beforeSending``) or
/// goes out whole before the connection is shut down, so that the commands run and their
/// replies are lost (``Failure/afterSending(unreachableFor:)``), after which the node refuses
/// connections for a while. Install it before arming it (``RedisConnection/transport``; the
/// connection reconnects through it).
final class FailingTransport: RedisTransport {
    /// How the next write fails.
    enum Failure: Equatable {
        /// Nothing is sent; the write throws.
        case beforeSending
        /// Everything is sent, then the connection is shut down before any reply is read;
        /// connecting fails for `unreachableFor` seconds from then.
        case afterSending(unreachableFor: Double)
    }

    /// The failure the next write on one of this transport's streams meets; nil once it has.
    var next: Failure?
    /// Runs once an ``Failure/afterSending(unreachableFor:)`` write has gone out and its
    /// connection is down, before the connection notices: for a test that changes the server
    /// at that moment (makes it load its dataset, as after a restart).
    var onLoss: (() -> Void)?
    /// Until when (unix time) connecting fails.
    private var refusedUntil = 0.0
    private let inner: any RedisTransport

    init(over inner: any RedisTransport = TCPTransport()) {
        self.inner = inner
    }

    /// Installs a new, unarmed failing transport on `connection`.
    static func install(on connection: RedisConnection) -> FailingTransport {
        let transport = FailingTransport()
        connection.transport = transport
        return transport
    }

    func connect(to node: RedisNode) throws(BrokerError) -> any RedisStream {
        guard unixTime() >= refusedUntil else { throw BrokerError("cannot connect: simulated outage") }
        return Stream(try inner.connect(to: node), transport: self)
    }

    /// Takes the armed failure, if any.
    fileprivate func takeFailure() -> Failure? {
        defer { next = nil }
        return next
    }

    fileprivate func refuse(for seconds: Double) {
        refusedUntil = unixTime() + seconds
    }

    // MARK: Stream

    /// A stream of the inner transport whose next write may fail as armed.
    final class Stream: RedisStream {
        let inner: any RedisStream
        let transport: FailingTransport

        init(_ inner: any RedisStream, transport: FailingTransport) {
            self.inner = inner
            self.transport = transport
        }

        func write(_ bytes: UnsafeRawBufferPointer) throws(BrokerError) {
            switch transport.takeFailure() {
            case nil:
                try inner.write(bytes)
            case .beforeSending:
                throw BrokerError("simulated connection loss before sending")
            case .afterSending(let outage):
                try inner.write(bytes)
                inner.shutdown()
                // Replies that arrived before the shutdown would still be readable: they are
                // lost here, whatever the timing.
                lost = true
                transport.refuse(for: outage)
                transport.onLoss?()
            }
        }

        /// True once the replies of this stream are lost.
        private var lost = false

        func read(into buffer: UnsafeMutableRawBufferPointer) throws(BrokerError) -> Int {
            if lost { throw BrokerError("simulated lost reply") }
            return try inner.read(into: buffer)
        }

        var closedByPeer: Bool { inner.closedByPeer }

        func shutdown() {
            inner.shutdown()
        }
    }
}
