/// Sends batches to an HTTP receiver: at most `maxBatchLines` lines per request, each request
/// retried with `Backoff` until the receiver answers 2xx. Connection errors, timeouts, 408, 429
/// and 5xx are retried forever (the files are the buffer, nothing is dropped); any other status
/// means the receiver rejects the data itself, and retrying cannot help: that is an error that
/// ends the sidecar with the receiver's message, its offsets saved up to the last delivered
/// batch, so a restart after the receiver is fixed resumes there. Delivery is at least once:
/// a request whose answer is lost is sent again.
public struct HTTPSink: LogSink {
    public let endpoint: HTTPEndpoint
    public let format: PushFormat
    public let options: PushFormat.Options
    public let maxBatchLines: Int
    public let backoff: Backoff
    public let timeoutSeconds: Int
    let report: @Sendable (String) -> Void

    public struct Rejected: Error, CustomStringConvertible {
        public var description: String
    }

    public init(endpoint: HTTPEndpoint, format: PushFormat, options: PushFormat.Options = .init(), maxBatchLines: Int = 1000,
                backoff: Backoff = Backoff(), timeoutSeconds: Int = 10, report: @escaping @Sendable (String) -> Void) {
        self.endpoint = endpoint
        self.format = format
        self.options = options
        self.maxBatchLines = maxBatchLines
        self.backoff = backoff
        self.timeoutSeconds = timeoutSeconds
        self.report = report
    }

    public nonisolated(nonsending) func write(_ batch: LineBatch) async throws {
        for part in batch.split(maxLines: maxBatchLines) {
            try await deliver(format.body(part, options: options), lines: part.lineCount)
        }
    }

    private func deliver(_ body: [UInt8], lines: Int) async throws {
        var backoff = self.backoff
        while true {
            try Task.checkCancellation()
            let problem: String
            do {
                let r = try await HTTPPost.send(endpoint, contentType: format.contentType, body: body, timeout: timeoutSeconds)
                let text = String(decoding: r.body.prefix(300), as: UTF8.self)
                switch r.status {
                case 200..<300:
                    // _bulk answers 200 with per-document errors; those are retried whole.
                    if format == .elasticsearch, r.body.firstRange(of: Array("\"errors\":true".utf8)) != nil {
                        problem = "the _bulk response reports errors: \(text)"
                    } else {
                        if backoff.attempt > 0 { report("delivered to \(endpoint.host):\(endpoint.port) after \(backoff.attempt) retries") }
                        return
                    }
                case 408, 429, 500...599:
                    problem = "HTTP \(r.status): \(text)"
                default:
                    throw Rejected(description: "the receiver at http://\(endpoint.host):\(endpoint.port)\(endpoint.path) rejected \(lines) lines with HTTP \(r.status): \(text)")
                }
            } catch let e as HTTPPost.Failure {
                problem = e.description
            }
            let wait = backoff.next()
            report("\(problem); retry \(backoff.attempt) in \(wait)")
            try await Task.sleep(for: wait)
        }
    }
}
