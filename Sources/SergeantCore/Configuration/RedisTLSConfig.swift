// MARK: - RedisTLSConfig

/// How a connection to a Redis node is encrypted (TLS 1.2 or later, through OpenSSL).
///
/// The server's certificate is verified by default: against ``caFile`` (or the system's CA
/// store without one), and for the node's host name (or ``serverName``). A client
/// certificate is sent when the server asks for one (`tls-auth-clients`).
///
/// In a node's JSON: `"tls": {"ca_file": "ca.crt", "cert_file": "client.crt",
/// "key_file": "client.key", "server_name": "redis.internal", "verify": true}`, every field
/// optional; `"tls": {}` is TLS with the system's CAs.
public struct RedisTLSConfig: Codable, Sendable, Hashable {
    /// PEM file of the certificate authorities the server's certificate must chain to; nil:
    /// the system's (OpenSSL's default paths, `SSL_CERT_FILE`/`SSL_CERT_DIR`).
    public var caFile: String?
    /// PEM file of the client certificate, for a server that authenticates clients.
    public var certificateFile: String?
    /// PEM file of the client certificate's private key (unencrypted).
    public var keyFile: String?
    /// The name the server's certificate must carry, also sent as SNI; nil: the node's host.
    public var serverName: String?
    /// Verifies the server's certificate and name. False encrypts without knowing who is at
    /// the other end: for a test only.
    public var verify: Bool

    /// Creates TLS settings; the defaults verify the server against the system's CAs.
    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
                serverName: String? = nil, verify: Bool = true) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.verify = verify
    }

    enum CodingKeys: String, CodingKey {
        case caFile = "ca_file"
        case certificateFile = "cert_file"
        case keyFile = "key_file"
        case serverName = "server_name"
        case verify
    }

    /// Decodes JSON in which every field is optional.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(caFile: try container.decodeIfPresent(String.self, forKey: .caFile),
                  certificateFile: try container.decodeIfPresent(String.self, forKey: .certificateFile),
                  keyFile: try container.decodeIfPresent(String.self, forKey: .keyFile),
                  serverName: try container.decodeIfPresent(String.self, forKey: .serverName),
                  verify: try container.decodeIfPresent(Bool.self, forKey: .verify) ?? true)
    }
}
