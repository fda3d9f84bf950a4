#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import Hummingbird

// MARK: - Access

/// Who may use the dashboard and which POSTs it accepts: the bearer token or basic-auth
/// check for every request (when the settings ask for one), and the CSRF check for every
/// state-changing action.
///
/// CSRF: each server has a random token, put in every form as a hidden field; a POST must
/// carry it, and a POST whose `Origin` (or `Sec-Fetch-Site`) says it comes from another site
/// is refused even with it. Basic auth, which a browser resends by itself, is what makes this
/// necessary.
struct Access: Sendable {
    let authToken: String?
    let basicCredentials: (user: String, password: String)?
    /// The token forms carry.
    let csrfToken: String

    init(settings: DashboardSettings, csrfToken: String = Access.randomToken()) {
        authToken = settings.authToken
        basicCredentials = settings.basicCredentials
        self.csrfToken = csrfToken
    }

    /// 32 random bytes as hex, from the system's cryptographic generator.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return String(byte >> 4, radix: 16) + String(byte & 15, radix: 16)
        }.joined()
    }

    /// True when the request may see the dashboard.
    func isAuthorized(_ headers: HTTPFields) -> Bool {
        guard authToken != nil || basicCredentials != nil else { return true }
        guard let header = headers[.authorization] else { return false }
        if let authToken, header.hasPrefix("Bearer ") {
            return Self.same(String(header.dropFirst(7)), authToken)
        }
        guard header.hasPrefix("Basic "), let data = Data(base64Encoded: String(header.dropFirst(6))),
              let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":") else { return false }
        let (user, password) = (String(pair[..<colon]), String(pair[pair.index(after: colon)...]))
        if let basicCredentials, Self.same(user, basicCredentials.user), Self.same(password, basicCredentials.password) { return true }
        if let authToken, Self.same(password, authToken) { return true }
        return false
    }

    /// Nil when a POST with `form` and `headers`, sent to `authority` (the request's Host), may
    /// change state, else why not.
    func csrfRefusal(form: [String: String], headers: HTTPFields, authority: String?) -> String? {
        if let site = headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" {
            return "the request came from another site (Sec-Fetch-Site: \(site))"
        }
        if let origin = headers[.origin], origin != "http://\(authority ?? "")", origin != "https://\(authority ?? "")" {
            return "the request came from another origin (\(origin))"
        }
        guard let token = form["csrf"], Self.same(token, csrfToken) else {
            return "the form's CSRF token is missing or wrong: reload the dashboard and try again"
        }
        return nil
    }

    /// Compares in time that depends on the lengths only.
    static func same(_ left: String, _ right: String) -> Bool {
        let (a, b) = (Array(left.utf8), Array(right.utf8))
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// Reads an `application/x-www-form-urlencoded` body.
    static func form(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in
                String(text.replacing("+", with: " ")).removingPercentEncoding ?? String(text)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}

// MARK: - AccessMiddleware

/// Refuses unauthenticated requests with 401 and a basic-auth challenge.
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: Access

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard access.isAuthorized(request.headers) else {
            return Response(status: .unauthorized,
                            headers: [.wwwAuthenticate: "Basic realm=\"sergeant\", charset=\"UTF-8\"", .contentType: "text/plain; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "authentication required: a bearer token or basic auth\n")))
        }
        return try await next(request, context)
    }
}
