import Foundation

// MARK: - TestCertificates

/// A certificate authority and the certificates a TLS test needs, made with the `openssl`
/// command in a directory of their own (P-256 keys, valid for two days):
///
/// - `ca.crt`: the CA that signed the others;
/// - `server.crt`/`server.key`: for `localhost` and `127.0.0.1`;
/// - `client.crt`/`client.key`: a client certificate, for `tls-auth-clients yes`;
/// - `other-ca.crt`: a second CA that signed nothing here (a wrong CA file).
public struct TestCertificates: Sendable {
    /// The directory holding the files.
    public let directory: URL

    /// Makes the files in `directory` (created when missing).
    public init(directory: URL) throws {
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let openssl = try which("openssl")
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run([openssl, "req", "-x509"] + key + ["-keyout", path("ca.key"), "-out", path("ca.crt"), "-days", "2",
                 "-subj", "/CN=sergeant test CA"])
        try run([openssl, "req", "-x509"] + key + ["-keyout", path("other-ca.key"), "-out", path("other-ca.crt"),
                 "-days", "2", "-subj", "/CN=sergeant other CA"])
        try Data("subjectAltName=DNS:localhost,IP:127.0.0.1\n".utf8).write(to: directory.appendingPathComponent("server.ext"))
        for (name, extensions) in [("server", ["-extfile", path("server.ext")]), ("client", [])] {
            try run([openssl, "req"] + key + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"),
                     "-subj", "/CN=sergeant test \(name)"])
            try run([openssl, "x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
                     "-CAcreateserial", "-out", path("\(name).crt"), "-days", "2"] + extensions)
        }
    }

    /// The path of one of the files, such as `ca.crt`.
    public func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    private func run(_ arguments: [String]) throws {
        let result = try ChildProcess.run(arguments, timeout: 60)
        guard result.code == 0 else {
            throw SupportError("\(arguments.prefix(3).joined(separator: " ")) failed (\(result.code)): \(result.output)")
        }
    }
}
