/// The threshold logic of one probe worker (`prober/worker.go` `doProbe`): a result becomes
/// effective only after `successThreshold`/`failureThreshold` identical results in a row.
public struct ProbeThreshold: Sendable {
    public let type: ProbeType
    public let successThreshold: Int
    public let failureThreshold: Int
    private var lastResult: ProbeResult?
    private var run = 0
    /// Set after a liveness failure or any startup verdict: probing pauses until the next instance.
    public private(set) var onHold = false

    public init(type: ProbeType, probe: Probe) {
        self.type = type
        successThreshold = Int(probe.successThreshold ?? 1)
        failureThreshold = Int(probe.failureThreshold ?? 3)
    }

    /// Feeds one raw result; returns the result to publish when it became effective.
    public mutating func record(_ result: ProbeResult) -> ProbeResult? {
        if lastResult == result { run += 1 } else {
            lastResult = result
            run = 1
        }
        if (result == .failure && run < failureThreshold) || (result == .success && run < successThreshold) {
            return nil
        }
        if (type == .liveness && result == .failure) || type == .startup {
            onHold = true
            run = 0
        }
        return result
    }
}

import KubeAPI
