#if canImport(Glibc)
import Glibc
#endif
import CHiredis
import SergeantCore

// MARK: - TCPTransport

/// The production ``RedisTransport``: a plain TCP socket. hiredis opens it (name resolution,
/// the connect timeout, TCP_NODELAY, keepalive) and hands over the descriptor; the stream then
/// sends and receives on it directly.
struct TCPTransport: RedisTransport, Sendable {
    /// Seconds a connection attempt may take.
    var connectTimeout = 10
    /// Seconds a read or a write may block before the round trip fails.
    var ioTimeout = 60

    func connect(to node: RedisNode) throws(BrokerError) -> any RedisStream {
        try Stream(node: node, connectTimeout: connectTimeout, ioTimeout: ioTimeout)
    }

    // MARK: Stream

    /// One connected socket, closed on deinit.
    final class Stream: RedisStream {
        /// The socket's descriptor.
        let descriptor: Int32

        init(node: RedisNode, connectTimeout: Int, ioTimeout: Int) throws(BrokerError) {
            guard let context = redisConnectWithTimeout(node.host, Int32(node.port), timeval(tv_sec: connectTimeout, tv_usec: 0)) else {
                throw BrokerError("cannot allocate a hiredis context")
            }
            if context.pointee.err != 0 {
                let message = withUnsafeBytes(of: context.pointee.errstr) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                let error = context.pointee.err
                redisFree(context)
                throw BrokerError("cannot connect: " + (message.isEmpty ? "connection error \(error)" : message))
            }
            _ = redisSetTimeout(context, timeval(tv_sec: ioTimeout, tv_usec: 0))
            _ = redisEnableKeepAlive(context)
            descriptor = redisFreeKeepFd(context)
        }

        deinit {
            close(descriptor)
        }

        /// MSG_NOSIGNAL: a connection the server closed is an error to handle, not a SIGPIPE
        /// that ends the process.
        func write(_ bytes: UnsafeRawBufferPointer) throws(BrokerError) {
            var offset = 0
            while offset < bytes.count {
                let written = send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if written > 0 {
                    offset += written
                    continue
                }
                let failure = written < 0 ? errno : EPIPE
                if failure == EINTR { continue }
                throw BrokerError(failure == EAGAIN || failure == EWOULDBLOCK ? "timed out writing to the server" : String(cString: strerror(failure)))
            }
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws(BrokerError) -> Int {
            while true {
                let received = recv(descriptor, buffer.baseAddress, buffer.count, 0)
                if received > 0 { return received }
                if received == 0 { throw BrokerError("the server closed the connection") }
                let failure = errno
                if failure == EINTR { continue }
                throw BrokerError(failure == EAGAIN || failure == EWOULDBLOCK ? "timed out reading from the server" : String(cString: strerror(failure)))
            }
        }

        /// Between round trips nothing is due, so a readable socket means end of stream.
        var closedByPeer: Bool {
            var byte: UInt8 = 0
            let peeked = recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            return peeked == 0 || (peeked < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        }

        func shutdown() {
            _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
        }
    }
}
