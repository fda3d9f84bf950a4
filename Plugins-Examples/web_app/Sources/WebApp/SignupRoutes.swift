import Hummingbird
import SergeantClient

/// `POST /signup` with `{"email": "..."}`: queues the welcome email and answers 202 Accepted
/// as soon as the task is stored in Redis; the worker sends it later.
struct SignupRoutes: Sendable {
    /// The body of a signup.
    struct Signup: Decodable, Sendable {
        var email: String
    }

    /// The kwargs of a `send_welcome_email` task.
    struct SendWelcomeEmail: Encodable, Sendable {
        var email: String
    }

    /// The answer to a queued signup.
    struct Queued: ResponseEncodable {
        var queued: String
        var email: String
    }

    /// The queue of the welcome emails.
    let queue: Queue

    /// The router of the app: `POST /signup`.
    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/signup") { request, context in
            try await signup(request, context)
        }
        return router
    }

    private func signup(_ request: Request, _ context: BasicRequestContext) async throws -> EditedResponse<Queued> {
        let signup = try await request.decode(as: Signup.self, context: context)
        guard signup.email.contains("@") else {
            throw HTTPError(.badRequest, message: "email \"\(signup.email)\" is not an address; send {\"email\": \"name@host\"}")
        }
        do {
            try await queue.push(kwargs: SendWelcomeEmail(email: signup.email))
        } catch {
            context.logger.error("could not queue the welcome email", metadata: ["email": "\(signup.email)", "error": "\(error)"])
            throw HTTPError(.serviceUnavailable, message: "the task queue is unavailable: \(error)")
        }
        context.logger.info("queued the welcome email", metadata: ["email": "\(signup.email)", "queue": "\(queue.name)"])
        return EditedResponse(status: .accepted, response: Queued(queued: queue.name, email: signup.email))
    }
}
