/// Exponential back-off between delivery attempts: `initial`, doubled each failure, capped at
/// `maximum`, with up to a quarter of random jitter so many sidecars that lost the same receiver
/// do not come back in lock step. There is no give-up: the caller retries until it delivers or
/// is stopped (see `LogSink`).
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public private(set) var attempt = 0

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(10)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The wait before the next attempt (without jitter: `base`).
    public func base(after failures: Int) -> Duration {
        var d = initial
        for _ in 1..<max(failures, 1) {
            d = d * 2
            if d >= maximum { return maximum }
        }
        return min(d, maximum)
    }

    public mutating func next() -> Duration {
        attempt += 1
        let b = base(after: attempt)
        return b + b * Double.random(in: 0..<0.25)
    }

    public mutating func reset() { attempt = 0 }
}
