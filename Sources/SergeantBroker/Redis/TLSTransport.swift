#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import SergeantCore

// MARK: - TLSTransport

/// The ``RedisTransport`` of a node with ``RedisNode/tls`` (`rediss://`): the TCP socket of a
/// ``TCPTransport`` with OpenSSL's TLS on it. The connection above it is the same as over plain
/// TCP (the wire format, hiredis's reply parser, reconnects); only the bytes are encrypted.
///
/// The server's certificate is verified (unless ``RedisTLSConfig/verify`` is false) against
/// the CA file or the system's CAs and for the node's host name (an IP address is checked
/// against the certificate's IP entries). A handshake that fails says why, as a matchable
/// ``BrokerError/Reason``.
final class TLSTransport: RedisTransport {
    /// The TLS settings.
    let config: RedisTLSConfig
    /// Opens the TCP socket under the TLS; its timeouts are the connection's.
    var tcp = TCPTransport()
    /// Seconds the handshake may wait for the server: a plain Redis port never answers some
    /// handshakes (it waits for the end of a command line).
    var handshakeTimeout = 5
    /// The OpenSSL context (`SSL_CTX`) with the CAs and the client certificate loaded, made
    /// at the first connection.
    private var context: OpaquePointer?

    /// A transport with `config`'s settings; files are read at the first connection.
    init(config: RedisTLSConfig) {
        self.config = config
    }

    deinit {
        if let context { SSL_CTX_free(context) }
    }

    func connect(to node: RedisNode) throws(BrokerError) -> any RedisStream {
        let context: OpaquePointer
        if let made = self.context {
            context = made
        } else {
            context = try makeContext(node: node)
            self.context = context
        }
        let socket = try TCPTransport.Stream(node: node, connectTimeout: tcp.connectTimeout, ioTimeout: tcp.ioTimeout)
        return try Stream(socket: socket, context: context, node: node, name: config.serverName ?? node.host,
                          verify: config.verify, handshakeTimeout: handshakeTimeout, ioTimeout: tcp.ioTimeout)
    }

    /// An OpenSSL client context: TLS 1.2 or later, the CAs to verify with, the client
    /// certificate and key.
    private func makeContext(node: RedisNode) throws(BrokerError) -> OpaquePointer {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw BrokerError("TLS for redis \(node): OpenSSL cannot create a context: \(Self.openSSLErrorText())")
        }
        var failure: String?
        _ = sergeant_ssl_ctx_set_min_tls12(context)
        if config.verify {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            if let caFile = config.caFile {
                if SSL_CTX_load_verify_locations(context, caFile, nil) != 1 {
                    failure = "cannot load the CA file '\(caFile)' (ca_file): \(Self.openSSLErrorText()). It must be PEM certificates"
                }
            } else if SSL_CTX_set_default_verify_paths(context) != 1 {
                failure = "cannot load the system's CAs: \(Self.openSSLErrorText()). Set ca_file"
            }
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
        if failure == nil, let certificateFile = config.certificateFile {
            let keyFile = config.keyFile ?? certificateFile
            if SSL_CTX_use_certificate_chain_file(context, certificateFile) != 1 {
                failure = "cannot load the client certificate '\(certificateFile)' (cert_file): \(Self.openSSLErrorText())"
            } else if SSL_CTX_use_PrivateKey_file(context, keyFile, SSL_FILETYPE_PEM) != 1 {
                failure = "cannot load the client key '\(keyFile)' (key_file, unencrypted PEM): \(Self.openSSLErrorText())"
            } else if SSL_CTX_check_private_key(context) != 1 {
                failure = "the client key '\(keyFile)' is not the key of the certificate '\(certificateFile)'"
            }
        } else if failure == nil, config.keyFile != nil {
            failure = "key_file is set without cert_file: set both, or neither"
        }
        if let failure {
            SSL_CTX_free(context)
            throw BrokerError("TLS for redis \(node): \(failure)", reason: .tlsConfiguration(failure))
        }
        return context
    }

    /// The text of OpenSSL's latest error on this thread, or a placeholder.
    static func openSSLErrorText() -> String {
        let code = ERR_peek_last_error()
        guard code != 0 else { return "no OpenSSL error recorded" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// OpenSSL's BIO method for ``TLSTransport``'s sockets: sends with MSG_NOSIGNAL (no SIGPIPE).
/// Made once, never freed.
nonisolated(unsafe) private let socketMethod: OpaquePointer? = sergeant_bio_method_new()

// MARK: Stream

extension TLSTransport {
    /// One TLS session on a connected socket; both are closed on deinit.
    final class Stream: RedisStream {
        /// The socket, which the session reads and writes.
        private let socket: TCPTransport.Stream
        /// The OpenSSL session (`SSL`).
        private let ssl: OpaquePointer
        private let node: RedisNode

        /// Runs the handshake on `socket` (within `handshakeTimeout` seconds), verifying the
        /// server for `name` when `verify` is set.
        init(socket: TCPTransport.Stream, context: OpaquePointer, node: RedisNode, name: String, verify: Bool,
             handshakeTimeout: Int, ioTimeout: Int) throws(BrokerError) {
            self.socket = socket
            self.node = node
            guard let ssl = SSL_new(context) else {
                throw BrokerError("TLS for redis \(node): OpenSSL cannot create a session: \(TLSTransport.openSSLErrorText())")
            }
            guard let method = socketMethod, let bio = sergeant_bio_new_socket(method, socket.descriptor) else {
                SSL_free(ssl)
                throw BrokerError("TLS for redis \(node): OpenSSL cannot create a socket BIO")
            }
            SSL_set_bio(ssl, bio, bio)
            let isAddress = Self.isIPAddress(name)
            if !isAddress { _ = sergeant_ssl_set_server_name(ssl, name) }
            if verify {
                if isAddress {
                    _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name)
                } else {
                    _ = SSL_set1_host(ssl, name)
                }
            }
            Self.setTimeout(socket.descriptor, seconds: handshakeTimeout)
            ERR_clear_error()
            let result = SSL_connect(ssl)
            if result != 1 {
                let error = Self.handshakeFailure(ssl: ssl, result: result, node: node, name: name, verify: verify,
                                                  timeout: handshakeTimeout)
                SSL_free(ssl)
                throw error
            }
            Self.setTimeout(socket.descriptor, seconds: ioTimeout)
            self.ssl = ssl
        }

        deinit {
            SSL_free(ssl)
        }

        func write(_ bytes: UnsafeRawBufferPointer) throws(BrokerError) {
            var offset = 0
            while offset < bytes.count {
                ERR_clear_error()
                let written = SSL_write(ssl, bytes.baseAddress! + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
                if written > 0 {
                    offset += Int(written)
                    continue
                }
                throw failure(of: written, writing: true)
            }
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws(BrokerError) -> Int {
            ERR_clear_error()
            let received = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
            if received > 0 { return Int(received) }
            throw failure(of: received, writing: false)
        }

        /// Between round trips nothing is due: a socket at its end, or TLS records that end
        /// the session (close_notify), mean the server closed the stream. Session tickets
        /// (TLS 1.3 sends them after the handshake) are read and kept open.
        var closedByPeer: Bool {
            if SSL_pending(ssl) > 0 { return false }
            var byte: UInt8 = 0
            let peeked = recv(socket.descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            if peeked == 0 { return true }
            if peeked < 0 { return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR }
            // Records wait: let OpenSSL read them without blocking.
            let flags = fcntl(socket.descriptor, F_GETFL)
            _ = fcntl(socket.descriptor, F_SETFL, flags | O_NONBLOCK)
            defer { _ = fcntl(socket.descriptor, F_SETFL, flags) }
            ERR_clear_error()
            let result = SSL_peek(ssl, &byte, 1)
            if result > 0 { return false }
            let error = SSL_get_error(ssl, result)
            return error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE
        }

        func shutdown() {
            socket.shutdown()
        }

        /// The error of an `SSL_read`/`SSL_write` that returned `result`.
        private func failure(of result: Int32, writing: Bool) -> BrokerError {
            let code = ERR_peek_last_error()
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_ZERO_RETURN:
                return BrokerError("the server closed the connection")
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                return BrokerError(writing ? "timed out writing to the server" : "timed out reading from the server")
            case SSL_ERROR_SYSCALL where code == 0:
                let failure = errno
                return BrokerError(failure == 0 ? "the server closed the connection" : String(cString: strerror(failure)))
            default:
                let reason = sergeant_err_reason(code)
                if reason == SSL_R_UNEXPECTED_EOF_WHILE_READING {
                    return BrokerError("the server closed the connection")
                }
                // TLS 1.3 checks the client's certificate after the client's handshake is done:
                // the refusal comes with the first reply.
                if reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED || reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE
                    || reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA {
                    let text = TLSTransport.openSSLErrorText()
                    return BrokerError("TLS with redis \(node.host):\(node.port): the server refused the client certificate"
                        + " (\(text)). It wants one signed by its tls-ca-cert-file: set cert_file and key_file",
                        reason: .tlsHandshakeFailed(text))
                }
                return BrokerError("TLS error: \(TLSTransport.openSSLErrorText())")
            }
        }

        /// Why the handshake failed, as a matchable reason when it is one.
        private static func handshakeFailure(ssl: OpaquePointer, result: Int32, node: RedisNode, name: String,
                                             verify: Bool, timeout: Int) -> BrokerError {
            let code = ERR_peek_last_error()
            let error = SSL_get_error(ssl, result)
            let prefix = "TLS handshake with redis \(node.host):\(node.port) failed"
            let verifyResult = SSL_get_verify_result(ssl)
            if verify && verifyResult != X509_V_OK {
                if verifyResult == X509_V_ERR_HOSTNAME_MISMATCH || verifyResult == X509_V_ERR_IP_ADDRESS_MISMATCH {
                    return BrokerError("\(prefix): its certificate is not for '\(name)'. Connect by a name the certificate"
                        + " carries, or set server_name (rediss://...?server_name=NAME) to one", reason: .tlsHostNameMismatch(expected: name))
                }
                let text = String(cString: X509_verify_cert_error_string(verifyResult))
                return BrokerError("\(prefix): its certificate did not verify: \(text) (OpenSSL verify error \(verifyResult))."
                    + " Set ca_file to the CA that signed the server's certificate", reason: .tlsCertificateRejected(code: verifyResult, text: text))
            }
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE {
                return BrokerError("\(prefix): no TLS answer within \(timeout) s. A plain Redis port waits for a command"
                    + " instead: use redis:// there, or the server's tls-port", reason: .tlsNotSpokenByServer)
            }
            let reason = sergeant_err_reason(code)
            if reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG
                || reason == SSL_R_RECORD_LENGTH_MISMATCH || reason == SSL_R_UNKNOWN_PROTOCOL {
                return BrokerError("\(prefix): the server does not speak TLS (\(TLSTransport.openSSLErrorText())). It is a plain"
                    + " Redis port: use redis:// there, or the server's tls-port", reason: .tlsNotSpokenByServer)
            }
            if (error == SSL_ERROR_SYSCALL && code == 0) || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING {
                return BrokerError("\(prefix): the server closed the connection during the handshake")
            }
            let text = TLSTransport.openSSLErrorText()
            return BrokerError("\(prefix): \(text)", reason: .tlsHandshakeFailed(text))
        }

        private static func isIPAddress(_ name: String) -> Bool {
            var address = in6_addr()
            return inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
        }

        /// Sets the socket's read and write timeouts.
        private static func setTimeout(_ descriptor: Int32, seconds: Int) {
            var value = timeval(tv_sec: seconds, tv_usec: 0)
            let size = socklen_t(MemoryLayout<timeval>.size)
            _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, size)
            _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &value, size)
        }
    }
}
