import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `metav1.ObjectMeta`, the fields a manifest may carry.
public struct ObjectMeta: Codable, Sendable, Hashable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var deletionGracePeriodSeconds: Int64?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var ownerReferences: [OwnerReference]?
    public var finalizers: [String]?
    public var managedFields: [JSONValue]?
    public var selfLink: String?

    public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
    }

    /// Whether an owner reference points at the object with this UID.
    public func isOwned(by uid: String?) -> Bool {
        guard let uid else { return false }
        return ownerReferences?.contains { $0.uid == uid } ?? false
    }
}

public struct OwnerReference: Codable, Sendable, Hashable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = true, blockOwnerDeletion: Bool? = true) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}

public struct LabelSelector: Codable, Sendable, Hashable {
    public var matchLabels: [String: String]?
    public var matchExpressions: [LabelSelectorRequirement]?

    public init(matchLabels: [String: String]? = nil) { self.matchLabels = matchLabels }

    /// Whether `labels` satisfy this selector (`metav1.LabelSelectorAsSelector`).
    public func matches(_ labels: [String: String]) -> Bool {
        for (k, v) in matchLabels ?? [:] where labels[k] != v { return false }
        for req in matchExpressions ?? [] {
            let value = labels[req.key]
            switch req.operator {
            case "In": if value == nil || !(req.values ?? []).contains(value!) { return false }
            case "NotIn": if let value, (req.values ?? []).contains(value) { return false }
            case "Exists": if value == nil { return false }
            case "DoesNotExist": if value != nil { return false }
            default: return false
            }
        }
        return true
    }
}

public struct LabelSelectorRequirement: Codable, Sendable, Hashable {
    public var key: String
    public var `operator`: String
    public var values: [String]?
}

/// `metav1.Condition`-like status condition as Pods, Jobs and Deployments carry them.
public struct Condition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastProbeTime: String?
    public var lastTransitionTime: String?
    public var lastUpdateTime: String?
    public var observedGeneration: Int64?

    public init(type: String, status: String, reason: String? = nil, message: String? = nil, lastTransitionTime: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
    }
}

/// RFC 3339 timestamps as the API server writes them (second precision, UTC).
public enum Timestamp {
    /// Digits written straight into the string's storage: a pod's status is regenerated at each
    /// of its containers' state changes, with a timestamp per container state and condition, and
    /// `String(format:)` made these strings the larger part of that work.
    public static func string(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let year = Int(tmv.tm_year) + 1900
        guard (0...9999).contains(year) else {
            return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", year, tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec)
        }
        return String(unsafeUninitializedCapacity: 20) { out in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var v = value
                for i in stride(from: offset + width - 1, through: offset, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            put(year, 4, at: 0)
            put(Int(tmv.tm_mon) + 1, 2, at: 5)
            put(Int(tmv.tm_mday), 2, at: 8)
            put(Int(tmv.tm_hour), 2, at: 11)
            put(Int(tmv.tm_min), 2, at: 14)
            put(Int(tmv.tm_sec), 2, at: 17)
            (out[4], out[7], out[10]) = (UInt8(ascii: "-"), UInt8(ascii: "-"), UInt8(ascii: "T"))
            (out[13], out[16], out[19]) = (UInt8(ascii: ":"), UInt8(ascii: ":"), UInt8(ascii: "Z"))
            return 20
        }
    }

    public static func date(_ string: String) -> Date? {
        // YYYY-MM-DDTHH:MM:SSZ, optionally with fractional seconds. The layout the server
        // writes is read at fixed offsets: a Table computes an age for every listed object.
        if let d = fixedLayoutDate(string) { return d }
        let parts = string.split(whereSeparator: { "-T:Z.".contains($0) }).map { Int($0) }
        guard parts.count >= 6, parts.allSatisfy({ $0 != nil }) else { return nil }
        var tmv = tm()
        tmv.tm_year = Int32(parts[0]! - 1900)
        tmv.tm_mon = Int32(parts[1]! - 1)
        tmv.tm_mday = Int32(parts[2]!)
        tmv.tm_hour = Int32(parts[3]!)
        tmv.tm_min = Int32(parts[4]!)
        tmv.tm_sec = Int32(parts[5]!)
        return Date(timeIntervalSince1970: TimeInterval(timegm(&tmv)))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` exactly, or nil.
    private static func fixedLayoutDate(_ string: String) -> Date? {
        string.utf8.withContiguousStorageIfAvailable { b -> Date? in
            guard b.count == 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
                  b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b[19] == UInt8(ascii: "Z") else { return nil }
            func number(_ at: Int, _ count: Int) -> Int32? {
                var n: Int32 = 0
                for i in at..<at + count {
                    guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) else { return nil }
                    n = n * 10 + Int32(b[i] - UInt8(ascii: "0"))
                }
                return n
            }
            guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
                  let minute = number(14, 2), let second = number(17, 2) else { return nil }
            var tmv = tm()
            (tmv.tm_year, tmv.tm_mon, tmv.tm_mday) = (year - 1900, month - 1, day)
            (tmv.tm_hour, tmv.tm_min, tmv.tm_sec) = (hour, minute, second)
            return Date(timeIntervalSince1970: TimeInterval(timegm(&tmv)))
        } ?? nil
    }
}
