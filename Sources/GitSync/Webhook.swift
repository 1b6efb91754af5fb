import Foundation
import NIOHTTP1
import OneShotHTTP
#if canImport(Glibc)
import Glibc
#endif

/// `--webhook-url`: after each publish, one HTTP request (default POST) carrying the hash in the
/// `Gitsync-Hash` header; success is the configured status (0: any answer). Plain HTTP/1.1
/// (`OneShotHTTP`): `https://` is refused when the flags are read.
struct Webhook: Hook {
    let name = "webhook"
    let url: String
    let method: String
    let successStatus: Int
    let timeout: Duration
    let log: Logger

    func run(hash: String) async throws {
        log.info(0, "sending webhook", ("hash", hash), ("url", url), ("method", method), ("timeout", "\(timeout)"))
        let request = try OneShotRequest(method: HTTPMethod(rawValue: method), url: url, headers: [("Gitsync-Hash", hash)],
                                      userAgent: "git-sync (tandem)")
        let response: OneShotRequest.Response
        do {
            response = try await request.send(timeout: timeout, bodyLimit: successStatus > 0 ? 200 : 0)
        } catch {
            throw SyncError("\(error)")
        }
        let status = Int(response.status.code)
        if successStatus > 0 && status != successStatus {
            throw SyncError("received response code \(status) expected \(successStatus), body: \(String(decoding: response.body, as: UTF8.self))")
        }
        log.info(1, "webhook succeeded", ("hash", hash), ("status", status))
    }
}
