import SergeantCore

// MARK: - RedisTransport

/// How a ``RedisConnection`` reaches its node: it opens a ``RedisStream`` there. The connection
/// owns everything above the bytes (the wire format, hiredis's reply parser, reconnects), so
/// a transport only moves bytes: ``TCPTransport`` in production, a TLS stream later, and in
/// tests a wrapper that loses a connection at a chosen moment.
protocol RedisTransport {
    /// Opens a stream to `node` (connection setup such as AUTH is the connection's), or throws
    /// why it could not; nothing has been sent then.
    func connect(to node: RedisNode) throws(BrokerError) -> any RedisStream
}

// MARK: - RedisStream

/// A connected, blocking byte stream to one Redis node, used by one ``RedisConnection`` at a
/// time. It releases what it holds (its socket) when the last reference goes.
protocol RedisStream: AnyObject {
    /// Writes all of `bytes`, or throws; after a throw, any part of them may have been sent.
    func write(_ bytes: UnsafeRawBufferPointer) throws(BrokerError)

    /// Reads at least one byte and at most `buffer.count` into `buffer` and returns how many;
    /// throws at the end of the stream (the server closed it), on a timeout or on an error.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(BrokerError) -> Int

    /// True when the server has closed the stream. Asked only between round trips, when no
    /// reply is due, so that it can read ahead without taking anything from a reply.
    var closedByPeer: Bool { get }

    /// Shuts the stream down in both directions: later reads and writes fail. Bytes already
    /// written still reach the server.
    func shutdown()
}
