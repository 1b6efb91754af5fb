import Foundation

/// Crash-loop back-off, as client-go's `flowcontrol.Backoff` with the kubelet's constants
/// (`initialCrashLoopBackOff` 10 s, `MaxContainerBackOff` 300 s).
///
/// Pure value: the caller passes the time, so tests drive it with any clock.
public struct RestartBackoff: Sendable {
    struct Entry: Sendable {
        var backoff: TimeInterval
        var lastUpdate: Date
    }

    public let initial: TimeInterval
    public let max: TimeInterval
    private var entries: [String: Entry] = [:]

    public init(initial: TimeInterval = 10, max: TimeInterval = 300) {
        self.initial = initial
        self.max = max
    }

    /// `GetStableKey`: pod, container and the container hash (name and image), so an image change
    /// starts the back-off afresh.
    public static func key(podName: String, namespace: String, podUID: String, container: String, image: String) -> String {
        "\(podName)_\(namespace)_\(podUID)_\(container)_\(image)"
    }

    /// `IsInBackOffSince`: whether a start at `now` must wait, given the previous instance finished at `since`.
    public func isInBackOffSince(_ key: String, since: Date, now: Date) -> Bool {
        guard let e = entries[key], !hasExpired(e, eventTime: since) else { return false }
        return now.timeIntervalSince(since) < e.backoff
    }

    /// The moment the back-off for `key` ends (`since + backoff`), if one applies.
    public func expiry(_ key: String, since: Date) -> Date? {
        guard let e = entries[key], !hasExpired(e, eventTime: since) else { return nil }
        return since.addingTimeInterval(e.backoff)
    }

    /// The current back-off duration for `key` (for the `back-off 20s …` message).
    public func duration(_ key: String) -> TimeInterval? { entries[key]?.backoff }

    /// `Next`: records a start; a new or expired entry gets the initial value, an existing one doubles.
    public mutating func next(_ key: String, since: Date, now: Date) {
        if var e = entries[key], !hasExpired(e, eventTime: since) {
            e.backoff = Swift.min(e.backoff * 2, max)
            e.lastUpdate = now
            entries[key] = e
        } else {
            entries[key] = Entry(backoff: initial, lastUpdate: now)
        }
    }

    /// `hasExpired`: more than 2 × max between the last update and this event resets the back-off.
    private func hasExpired(_ e: Entry, eventTime: Date) -> Bool {
        eventTime.timeIntervalSince(e.lastUpdate) > 2 * max
    }
}
