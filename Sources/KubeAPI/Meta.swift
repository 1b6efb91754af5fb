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
    public static func string(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var tmv = tm()
        gmtime_r(&t, &tmv)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec)
    }

    public static func date(_ string: String) -> Date? {
        // YYYY-MM-DDTHH:MM:SSZ, optionally with fractional seconds.
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
}
