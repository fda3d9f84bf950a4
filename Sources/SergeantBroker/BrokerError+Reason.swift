// MARK: - BrokerError.Reason

extension BrokerError {
    /// The kinds of broker failure a caller can match on:
    ///
    /// ```swift
    /// } catch let error where error.reason == .tlsNotSpokenByServer {
    ///     print("that port is plain: use redis:// there")
    /// }
    /// ```
    ///
    /// A connection setup failure that retrying cannot fix (every case but
    /// ``closedDuringSetup``) fails at once instead of after the reconnect timeout.
    public enum Reason: Sendable, Hashable {
        /// The storage has no room left (a full disk under the local connector's file):
        /// nothing of the operation was written; free space, then run it again.
        case storageFull
        /// The storage cannot be written (a read-only file, directory or file system).
        case storageNotWritable
        /// The server's certificate did not verify against the CA file (or the system's CAs):
        /// OpenSSL's verify error code and text, such as 20 "unable to get local issuer
        /// certificate" for a certificate of another CA.
        case tlsCertificateRejected(code: Int, text: String)
        /// The server's certificate is valid but for other names than the one asked for (the
        /// node's host or ``RedisTLSConfig/serverName``).
        case tlsHostNameMismatch(expected: String)
        /// The server answered the TLS handshake with something that is not TLS: a plain
        /// Redis port (use `redis://` there, or the server's `tls-port`).
        case tlsNotSpokenByServer
        /// Another TLS handshake failure (a protocol version, a client certificate the server
        /// refused), with OpenSSL's text.
        case tlsHandshakeFailed(String)
        /// The TLS settings cannot be used: a CA, certificate or key file that does not load.
        case tlsConfiguration(String)
        /// The server closed a plain connection before answering its setup: what a TLS port
        /// does to a plain client (use `rediss://`), or a server that refuses clients.
        case closedDuringSetup
        /// AUTH was refused: a wrong user name or password, or a disabled user.
        case authenticationFailed
        /// The server wants a password (`NOAUTH`) and the node has none.
        case authenticationRequired
        /// The ACL user may not run `command` (lower case, `config|get` for a subcommand) or may
        /// not touch one of its keys (`keys` true); NOPERM.
        case noPermission(command: String, keys: Bool)
        /// With ``RedisDurability/replicated``: the write ran on the master, but no replica
        /// confirmed it in time (WAIT). Not a connection setup failure.
        case notReplicated
        /// The server is loading its dataset (`-LOADING`, just after a restart): it refused
        /// the command without running it. The connection waits it out with the reconnect
        /// backoff; this reason reaches a caller only when the loading outlasts that.
        case serverLoading
    }

    /// True for failures that the same connection setup will hit again: no reconnects.
    var isPermanent: Bool {
        switch reason {
        case nil, .closedDuringSetup?, .storageFull?, .storageNotWritable?, .notReplicated?, .serverLoading?: false
        default: true
        }
    }
}
