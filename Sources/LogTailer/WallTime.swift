#if canImport(Glibc)
import Glibc
#endif

/// A wall-clock instant and its RFC 3339 UTC renderings. Formatted once per batch, not once per
/// line: every line of a batch was read at the same moment.
public struct WallTime: Sendable, Equatable {
    public var seconds: Int
    public var nanoseconds: Int

    public init(seconds: Int, nanoseconds: Int) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func now() -> WallTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return WallTime(seconds: Int(ts.tv_sec), nanoseconds: Int(ts.tv_nsec))
    }

    /// `2026-11-27T05:54:02Z`: the seed forwarder's `date -u +%Y-%m-%dT%H:%M:%S`, with the zone.
    public var rfc3339: String { datePart + "Z" }

    /// `2026-11-27T05:54:02.123456789Z`, the CRI log format's RFC3339Nano.
    public var rfc3339Nano: String {
        let ns = String(nanoseconds)
        return datePart + "." + String(repeating: "0", count: 9 - ns.count) + ns + "Z"
    }

    /// Nanoseconds since the epoch as a decimal string, Loki's timestamp format.
    public var unixNanoString: String {
        let ns = String(nanoseconds)
        return String(seconds) + String(repeating: "0", count: 9 - ns.count) + ns
    }

    private var datePart: String {
        var t = time_t(seconds)
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))"
    }
}
